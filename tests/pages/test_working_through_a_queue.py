"""A reviewer works through the queue: their own view of it, their signals on each row, the next
approval after deciding, and pages that say what happens and when, in plain words."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from approvals.decisions import decide
from approvals.models import ApprovalState, Vote
from tests.decisions.helpers import make_policy
from tests.factories import make_approval

HX = {"HX-Request": "true"}  # what django-htmx reads (tests.pages.conftest.HTMX as a header)

pytestmark = pytest.mark.django_db


def _rows(body: str) -> list[str]:
    return re.findall(r'<tr id="row-\d+" data-token-id="([^"]+)"', body)


def test_needs_my_decision_is_a_reviewers_default_and_leaves_out_what_is_not_theirs(
    rita: Client, reviewer: Any, second_reviewer: Any
) -> None:
    make_policy(name="Two keys", task_pattern="deploy-*", approvals_required=2)
    make_policy(name="Finance only", task_pattern="pay-*", groups=("Finance",))
    waiting = make_approval(description="Waiting for Rita")
    voted = make_approval(description="Rita voted already")
    Vote.objects.create(approval=voted, actor=reviewer, verdict="approve")
    own = make_approval(description="Rita asked for this", requested_by="Rita <RITA@example.com>")
    finance = make_approval(task_identifier="pay-invoice", description="For finance")

    mine = rita.get("/").content.decode()
    assert _rows(mine) == [waiting.token_id]
    assert "<strong>1</strong> waiting for you" in mine
    assert re.search(r'value="mine" checked', mine)

    everything = rita.get("/?show=all").content.decode()
    assert set(_rows(everything)) == {
        waiting.token_id,
        voted.token_id,
        own.token_id,
        finance.token_id,
    }
    assert "you voted · 1 of 2" in everything
    assert "your request (you can't approve it)" in everything
    assert "not yours to decide" in everything

    requested = rita.get("/?show=requested").content.decode()
    assert _rows(requested) == [own.token_id]


def test_a_user_who_may_not_decide_sees_every_approval_by_default(otto: Client) -> None:
    approval = make_approval()
    body = otto.get("/").content.decode()
    assert _rows(body) == [approval.token_id]
    assert 'value="mine"' not in body  # no "Needs my decision" for them


def test_the_live_views_of_the_queue_agree_with_the_page(rita: Client, reviewer: Any) -> None:
    from approvals.live import fragments
    from approvals.reviewing import Reviewer

    make_policy(name="Two keys", approvals_required=2)
    first = make_approval()
    voted = make_approval()
    Vote.objects.create(approval=voted, actor=reviewer, verdict="approve")
    me = Reviewer(reviewer)
    snapshot = fragments.queue_snapshot("", me)
    excluded = me.excluded(fragments.matching_rows("", me, personal=False))
    view = fragments.queue_view(snapshot, excluded)
    assert view is not None
    assert view.on_page == [first.pk]
    assert "<strong>1</strong> waiting for you" in view.count_html
    assert _rows(rita.get("/").content.decode()) == [first.token_id]


def test_after_deciding_the_panel_offers_the_next_approval_in_the_reviewers_queue(
    rita: Client,
) -> None:
    now = timezone.now()
    first = make_approval(task_identifier="deploy-web", expires_at=now + timedelta(minutes=10))
    make_approval(task_identifier="other-task", expires_at=now + timedelta(minutes=20))
    third = make_approval(task_identifier="deploy-web", expires_at=now + timedelta(minutes=30))
    rita.get("/?task=deploy-web")  # the queue the reviewer works through
    page = rita.get(f"/approvals/{first.token_id}/").content.decode()
    assert 'href="/?task=deploy-web" data-back-to-queue' in page
    assert f'href="/approvals/{third.token_id}/" data-next-pending' in page
    answer = rita.post(
        f"/approvals/{first.token_id}/reject", {"reject-reason": "Not today"}, headers=HX
    ).content.decode()
    assert f'href="/approvals/{third.token_id}/" data-next-pending' in answer


def test_the_last_approval_says_nothing_else_is_waiting(rita: Client) -> None:
    only = make_approval()
    rita.get("/")
    answer = rita.post(
        f"/approvals/{only.token_id}/reject", {"reject-reason": "No"}, headers=HX
    ).content.decode()
    assert "data-next-pending" not in answer
    assert "Nothing else in your queue is waiting." in answer


def test_the_panel_says_what_happens_on_expiry_with_the_zone(rita: Client) -> None:
    moment = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=2)
    approval = make_approval(expires_at=moment)
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    when = f"{moment.day} {moment:%b %Y, %H:%M} UTC"
    assert f'If nobody decides by <time datetime="{moment.isoformat()}">{when}</time>' in body
    assert "the run continues with a timeout" in body


def test_an_approval_past_its_deadline_shows_expired_without_forms_or_amber(
    rita: Client,
) -> None:
    approval = make_approval(expires_at=timezone.now() - timedelta(seconds=5))
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    assert "approve-form" not in body and "reject-form" not in body
    assert 'class="state state-timed_out">Expired<' in body
    countdown = re.search(r'<time class="countdown([^"]*)"', body)
    assert countdown is not None and "expired" in countdown.group(1)
    assert "soon" not in countdown.group(1)


def test_a_late_submit_says_it_expired_once_without_a_raw_timestamp(rita: Client) -> None:
    approval = make_approval(expires_at=timezone.now() - timedelta(seconds=5))
    response = rita.post(f"/approvals/{approval.token_id}/approve", {}, headers=HX)
    body = response.content.decode()
    panel = body.split('id="detail-state"')[0]
    assert response.status_code == 409
    assert panel.lower().count("expired") == 1
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", panel)


def test_a_timed_out_approval_says_so_in_plain_words(rita: Client) -> None:
    approval = make_approval(
        state=ApprovalState.TIMED_OUT,
        closed_at=timezone.now(),
        closed_reason="Waitpoint timed out at 2026-12-03T10:40:32.046Z",
    )
    for body in (
        rita.get(f"/approvals/{approval.token_id}/").content.decode(),
        rita.get("/history/").content.decode(),
    ):
        assert "the run continued with a timeout" in body
        assert "2026-12-03T10:40:32" not in body


def test_a_one_of_one_decision_is_one_line_in_the_panel_and_the_timeline(
    rita: Client, reviewer: Any
) -> None:
    approval = make_approval(
        form_schema={
            "type": "object",
            "properties": {"ticket": {"type": "string", "title": "Change ticket"}},
        }
    )
    decide(
        token_id=approval.token_id,
        actor=reviewer,
        verdict="approve",
        comment="Checked the diff",
        fields={"ticket": "CHG-42"},
        deliver_now=False,
    )
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    panel = body[
        body.index('id="decision-panel"') : body.index(
            "</section>", body.index('id="decision-panel"')
        )
    ]
    timeline = body[body.index('id="timeline"') :]
    assert panel.count("Approved") == 1 and 'class="votes"' not in panel
    assert panel.count("Checked the diff") == 1
    assert "Change ticket" in panel and "CHG-42" in panel
    events = re.findall(r'<span class="what">([^<]+)</span>', timeline)
    assert events == ["Approval requested", "Approved"]
    assert "Change ticket" in timeline and "CHG-42" in timeline
    assert "Seen by the dashboard" not in body and "Decided here" not in body
    history = rita.get("/history/").content.decode()
    assert "CHG-42" in history


def test_a_requester_with_an_account_is_named_as_everywhere_else(
    rita: Client, second_reviewer: Any
) -> None:
    approval = make_approval(requested_by="Sam <SAM@example.com>")
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    assert '<bdi title="Sam &lt;SAM@example.com&gt;">sam</bdi>' in body
    queue = rita.get("/?show=all").content.decode()
    assert '<bdi title="Sam &lt;SAM@example.com&gt;">sam</bdi>' in queue
    assert '<span class="who">rita</span>' in queue


def test_absolute_times_show_their_zone(rita: Client, reviewer: Any) -> None:
    approval = make_approval()
    decide(
        token_id=approval.token_id,
        actor=reviewer,
        verdict="reject",
        comment="No",
        deliver_now=False,
    )
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    shown = re.findall(r"<time datetime=\"[^\"]+\"[^>]*>([^<]+)</time>", body)
    absolute = [text for text in shown if re.search(r"\d{1,2}:\d\d", text)]
    assert absolute and all(text.endswith("UTC") for text in absolute), absolute


def test_a_required_choice_starts_blank_and_must_be_chosen(rita: Client) -> None:
    approval = make_approval(
        form_schema={
            "type": "object",
            "properties": {"env": {"enum": ["staging", "production"], "title": "Environment"}},
            "required": ["env"],
        }
    )
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    select = body[body.index('name="approve-field_env"') :]
    select = select[: select.index("</select>")]
    assert '<option value="" selected>Choose…</option>' in select
    response = rita.post(f"/approvals/{approval.token_id}/approve", {}, headers=HX)
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_the_history_keeps_the_order_things_happen_in_within_a_second(rita: Client) -> None:
    ended = timezone.now().replace(microsecond=100)
    approval = make_approval(
        state=ApprovalState.TIMED_OUT,
        closed_at=ended.replace(microsecond=900),
        run_status="COMPLETED",
        run_resumed_at=ended.replace(microsecond=500),
        run_finished_at=ended,
    )
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    events = re.findall(r'<span class="what">([^<]+)</span>', body[body.index('id="timeline"') :])
    assert events == [
        "Approval requested",
        "Nobody decided in time: the run continued with a timeout",
        "Run resumed",
        "Run ended: completed",
    ]
