"""Hostile text from upstream renders inert on the queue, the detail and the history pages.

Everything a task or Trigger.dev sends (task names, descriptions, tags, payloads, metadata,
requesters, even ids) is attacker-controlled as far as the dashboard is concerned.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals.models import Approval, ApprovalState, Decision
from tests.factories import make_approval
from tests.pages.conftest import HTMX

SCRIPT = "<script>alert('xss')</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
SVG = "'><svg onload=alert(2)>"
RTL = "invoice\u202egpj.exe"  # shows as "invoiceexe.jpg" unless neutralised
CONTROLS = "bell\x07escape\x1b[31mred\x7fdel\x85nel"
UNICODE = "Déploiement 🚀 数据库 مرحبا"
HOSTILE = f"{SCRIPT} {BREAKOUT} {SVG} {RTL} {CONTROLS} {UNICODE}"

# Raw fragments that must never reach the page as markup or invisible characters.
FORBIDDEN = [
    "<script>alert(",
    "<img src=x",
    "<svg onload",
    "\u202e",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
]


def _hostile_approval(**fields: Any) -> Approval:
    return make_approval(
        token_id='waitpoint_"><b>x</b>/../q?x=1#frag',
        run_id="run_<i>evil</i>",
        task_identifier=f"task-{SCRIPT}",
        description=HOSTILE,
        run_tags=["needs-approval", SCRIPT, BREAKOUT, RTL],
        token_tags=["needs-approval", SVG],
        payload={"html": HOSTILE, SCRIPT: [BREAKOUT, {"deep": RTL}], "big": "A" * 1_000_000},
        context={"note": HOSTILE},
        run_metadata={
            "waitTokens": [{"id": f"waitpoint_{SVG}", "description": HOSTILE}],
            "owner": HOSTILE,
        },
        requested_by=f"{BREAKOUT}@example.com",
        form_schema={
            "type": "object",
            "properties": {
                "ticket": {"type": "string", "title": SCRIPT, "description": BREAKOUT},
                "choice": {"enum": [SVG, "ok"]},
            },
        },
        **fields,
    )


def _assert_inert(body: str) -> None:
    # Form values must round-trip exactly, so attribute values may keep invisible characters
    # (inert there: they are never displayed); everything shown must not.
    shown = re.sub(r'value="[^"]*"', 'value=""', body)
    for fragment in FORBIDDEN:
        assert fragment not in shown, f"{fragment!r} reached the page raw"
    assert "&lt;script&gt;alert(" in body


@pytest.fixture
def hostile(db: None) -> Approval:
    return _hostile_approval()


def test_the_queue_renders_hostile_text_inert(rita: Client, hostile: Approval) -> None:
    for headers in ({}, HTMX):
        response = rita.get("/", **headers)
        body = response.content.decode()
        assert response.status_code == 200
        _assert_inert(body)
        assert "invoice\\u202egpj.exe" in body
        assert UNICODE in body
        # The 1 MB payload is not loaded, let alone shown, by the queue.
        assert len(body) < 100_000
    # The row's link reaches the detail page, whatever characters the token id holds.
    link = re.search(r'<td class="desc"><a href="([^"]+)"', body)
    assert link is not None
    assert rita.get(html.unescape(link.group(1))).status_code == 200


def test_search_and_filters_with_hostile_input_are_inert(rita: Client, hostile: Approval) -> None:
    response = rita.get("/", {"q": SCRIPT, "tag": BREAKOUT, "task": SVG, "status": RTL})
    assert response.status_code == 200
    _assert_inert(response.content.decode())


def test_the_detail_page_renders_hostile_text_inert(rita: Client, hostile: Approval) -> None:
    response = rita.get(reverse("approval_detail", args=[hostile.token_id]))
    body = response.content.decode()
    assert response.status_code == 200
    _assert_inert(body)
    assert "&lt;svg onload" in body
    assert "invoice\\u202egpj.exe" in body
    assert UNICODE in body
    assert "A" * 1_000_000 in body
    # The announced schema's labels and options are escaped too.
    assert "<select" in body and "&#x27;&gt;&lt;svg onload=alert(2)&gt;" in body


def test_the_history_page_renders_hostile_text_inert(rita: Client, reviewer: Any, db: None) -> None:
    approval = _hostile_approval(state=ApprovalState.DECIDED, closed_reason=HOSTILE)
    Decision.objects.create(
        approval=approval, actor=reviewer, verdict="reject", comment=HOSTILE, envelope={}
    )
    make_approval(state=ApprovalState.TIMED_OUT, closed_reason=HOSTILE, closed_at=timezone.now())
    for headers in ({}, HTMX):
        body = rita.get("/history/", **headers).content.decode()
        _assert_inert(body)
        assert body.count("&lt;script&gt;alert(") >= 3


def test_a_rejection_reason_with_hostile_text_is_shown_inert(
    rita: Client, reviewer: Any, db: None
) -> None:
    approval = make_approval(state=ApprovalState.DECIDED)
    Decision.objects.create(
        approval=approval, actor=reviewer, verdict="reject", comment=HOSTILE, envelope={}
    )
    _assert_inert(rita.get(reverse("approval_detail", args=[approval.token_id])).content.decode())
