"""A queue row's texts are formatted once in Python (approvals.presentation.queue_rows) and
read as the template's filters wrote them: the page and the live pushes share the row."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import truncatechars
from django.test import Client
from django.utils import timezone

from approvals.live.fragments import queue_row, row_facts
from approvals.presentation.queue_rows import row_text
from approvals.templatetags.approval_tags import visible
from tests.factories import make_approval


def test_row_texts_match_the_template_filters(db: None) -> None:
    long_text = "Refund \u202eorder\u202c " + "x" * 300
    decomposed = unicodedata.normalize("NFD", "Café refund")
    for description in (long_text, decomposed, "Short", ""):
        approval = make_approval(
            description=description,
            run_status="WAITING",
            expires_at=timezone.now() + timedelta(minutes=30),
        )
        text = row_text(approval)
        assert text.description == (truncatechars(visible(description), 180) or "Approval required")
        assert text.pick_label == truncatechars(visible(description), 80)
        assert text.created_iso == date_filter(approval.created_at, "c")
        assert text.expires_iso == date_filter(approval.expires_at, "c")
        assert text.soon is True
        assert text.status_class == "waiting"


def test_a_row_without_expiry_says_so(db: None) -> None:
    text = row_text(make_approval(expires_at=None))
    assert text.expires_iso == "" and text.countdown == "no expiry" and not text.soon


def test_the_page_and_a_live_push_render_the_same_row(rita: Client) -> None:
    approval = make_approval(description="Ship the billing fix")
    page = rita.get("/").content.decode()
    pushed = queue_row(
        row_facts(approval.pk), standing=None, may_decide=False, leaving=False, fresh=False
    )
    cell = pushed.split('<td class="desc">')[1].split("</a>")[0]
    assert f'href="/approvals/{approval.token_id}/"' in cell
    assert cell in page
