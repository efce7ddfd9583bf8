"""Approve and reject through the detail page's forms, with htmx and as plain posts.

The decisions really reach Trigger.dev (the emulated one on loopback). ``transactional_db``:
the decision service delivers after its transaction commits, which needs real commits.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from approvals.models import Decision, DeliveryState, Vote
from tests.factories import approval_for_sandbox_run
from tests.pages.conftest import HTMX
from tests.waiting import wait_until

pytestmark = pytest.mark.usefixtures("transactional_db")


def _run_output(sandbox: Any, run_id: str) -> Any:
    """The run's output once the sandbox has resumed it (polled, bounded)."""
    return wait_until(lambda: sandbox.control("GET", f"runs/{run_id}")["output"], timeout=5)


def test_a_plain_approve_with_a_comment_reaches_trigger_dev_and_redirects(
    rita: Client, live_sandbox: Any
) -> None:
    ids = live_sandbox.start_run()
    approval = approval_for_sandbox_run(ids)
    response = rita.post(f"/approvals/{approval.token_id}/approve", {"approve-comment": "Ship it"})
    assert response.status_code == 302
    assert response["Location"] == f"/approvals/{approval.token_id}/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Approved: Trigger.dev has resumed the run."
    ]
    output = _run_output(live_sandbox, ids["runId"])
    assert output["status"] == "approved"
    assert output["decision"]["approvedBy"] == "rita@example.com"
    assert output["decision"]["comments"] == "Ship it"
    assert Decision.objects.get(approval=approval).delivery_state == DeliveryState.DELIVERED
    page = rita.get(response["Location"]).content.decode()
    assert "Approved</strong> by rita" in page
    assert "Ship it" in page


def test_an_htmx_approve_swaps_the_outcome_into_the_decision_panel(
    rita: Client, live_sandbox: Any
) -> None:
    ids = live_sandbox.start_run()
    approval = approval_for_sandbox_run(ids)
    response = rita.post(
        f"/approvals/{approval.token_id}/approve", {"approve-comment": "LGTM"}, **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section class="card decision-panel" id="decision-panel"')
    assert "<html" not in body
    assert "Approved: Trigger.dev has resumed the run." in body
    assert "Approved</strong> by rita" in body
    assert "approve-form" not in body
    assert _run_output(live_sandbox, ids["runId"])["decision"]["comments"] == "LGTM"


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_reject_with_a_reason_reaches_trigger_dev(
    rita: Client, live_sandbox: Any, headers: dict[str, str]
) -> None:
    ids = live_sandbox.start_run()
    approval = approval_for_sandbox_run(ids)
    response = rita.post(
        f"/approvals/{approval.token_id}/reject", {"reject-reason": "Not on a Friday"}, **headers
    )
    assert response.status_code == (200 if headers else 302)
    output = _run_output(live_sandbox, ids["runId"])
    assert output["status"] == "rejected"
    assert output["decision"]["reason"] == "Not on a Friday"
    assert output["decision"]["rejectedBy"] == "rita@example.com"


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_reject_without_a_reason_shows_the_error_beside_the_field_and_saves_nothing(
    rita: Client, live_sandbox: Any, headers: dict[str, str]
) -> None:
    ids = live_sandbox.start_run()
    approval = approval_for_sandbox_run(ids)
    response = rita.post(
        f"/approvals/{approval.token_id}/reject", {"reject-reason": "   "}, **headers
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert '<p class="field-error">A reason is required to reject.</p>' in body
    assert 'aria-invalid="true"' in body
    assert not Vote.objects.filter(approval=approval).exists()
    assert not Decision.objects.filter(approval=approval).exists()
    assert live_sandbox.control("GET", f"runs/{ids['runId']}")["output"] is None


def test_a_one_megabyte_comment_is_refused_and_nothing_is_saved(
    rita: Client, live_sandbox: Any
) -> None:
    approval = approval_for_sandbox_run(live_sandbox.start_run())
    response = rita.post(
        f"/approvals/{approval.token_id}/approve", {"approve-comment": "x" * 1_000_000}
    )
    assert response.status_code == 400
    assert "Ensure this value has at most" in response.content.decode()
    assert not Vote.objects.exists()


def test_typed_schema_fields_go_into_the_output(rita: Client, live_sandbox: Any) -> None:
    schema = {
        "type": "object",
        "properties": {
            "replicas": {"type": "integer", "minimum": 1},
            "region": {"enum": ["eu", "us"]},
            "notify": {"type": "boolean"},
        },
        "required": ["replicas"],
    }
    ids = live_sandbox.start_run()
    approval = approval_for_sandbox_run(ids, form_schema=schema)
    missing = rita.post(f"/approvals/{approval.token_id}/approve", {}, **HTMX)
    assert missing.status_code == 400
    assert '<p class="field-error">This field is required.</p>' in missing.content.decode()
    assert not Vote.objects.exists()
    response = rita.post(
        f"/approvals/{approval.token_id}/approve",
        {"approve-field_replicas": "3", "approve-field_region": "eu", "approve-field_notify": "on"},
        **HTMX,
    )
    assert response.status_code == 200
    decision = _run_output(live_sandbox, ids["runId"])["decision"]
    assert (decision["replicas"], decision["region"], decision["notify"]) == (3, "eu", True)


def test_a_second_reviewer_is_told_who_decided_first_and_when(
    rita: Client, live_sandbox: Any, second_reviewer: Any
) -> None:
    approval = approval_for_sandbox_run(live_sandbox.start_run())
    assert rita.post(f"/approvals/{approval.token_id}/approve", {}).status_code == 302
    sam = Client()
    sam.force_login(second_reviewer)
    response = sam.post(
        f"/approvals/{approval.token_id}/reject", {"reject-reason": "too late"}, **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 409
    assert "Already decided by rita@example.com at " in body
    assert Decision.objects.get(approval=approval).verdict == "approve"


def test_an_expired_approval_cannot_be_decided(rita: Client, live_sandbox: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    approval = approval_for_sandbox_run(
        live_sandbox.start_run(), expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = rita.post(f"/approvals/{approval.token_id}/approve", {}, **HTMX)
    assert response.status_code == 409
    assert "This approval expired" in response.content.decode()
    assert not Vote.objects.exists()


def test_when_trigger_dev_is_down_the_decision_is_saved_and_the_reviewer_is_told(
    rita: Client, live_sandbox: Any
) -> None:
    approval = approval_for_sandbox_run(live_sandbox.start_run())
    live_sandbox.faults(errorRate=1.0)
    response = rita.post(f"/approvals/{approval.token_id}/approve", {"approve-comment": "ok"})
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Approved. Trigger.dev is unreachable: your decision is saved and will be delivered."
    ]
    decision = Decision.objects.get(approval=approval)
    assert decision.delivery_state == DeliveryState.PENDING
    page = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    assert "Waiting to be delivered" in page


def test_an_outsider_sees_the_approval_but_no_forms(otto: Client, live_sandbox: Any) -> None:
    approval = approval_for_sandbox_run(live_sandbox.start_run())
    body = otto.get(f"/approvals/{approval.token_id}/").content.decode()
    assert "You do not have permission to decide approvals." in body
    assert "approve-form" not in body
    assert "reject-form" not in body


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_an_outsider_cannot_decide(
    otto: Client, live_sandbox: Any, headers: dict[str, str]
) -> None:
    ids = live_sandbox.start_run()
    approval = approval_for_sandbox_run(ids)
    response = otto.post(
        f"/approvals/{approval.token_id}/approve", {"approve-comment": "sneaky"}, **headers
    )
    assert response.status_code == 403
    assert "You do not have permission to decide approvals." in response.content.decode()
    assert not Vote.objects.exists()
    assert live_sandbox.control("GET", f"runs/{ids['runId']}")["output"] is None


def test_the_requester_may_reject_but_not_approve_their_own_run(
    rita: Client, live_sandbox: Any
) -> None:
    approval = approval_for_sandbox_run(live_sandbox.start_run(), requested_by="rita@example.com")
    body = rita.get(f"/approvals/{approval.token_id}/").content.decode()
    assert "may not approve it yourself" in body
    assert "approve-form" not in body
    assert "reject-form" in body
    assert rita.post(f"/approvals/{approval.token_id}/approve", {}).status_code == 403


def test_with_two_approvals_required_the_first_approval_waits_for_the_second(
    rita: Client, live_sandbox: Any, second_reviewer: Any
) -> None:
    from approvals.models import ApprovalPolicy

    ApprovalPolicy.objects.create(name="Two keys", approvals_required=2)
    ids = live_sandbox.start_run()
    approval = approval_for_sandbox_run(ids)
    first = rita.post(f"/approvals/{approval.token_id}/approve", {}, **HTMX).content.decode()
    assert "Your approval is recorded (1 of 2)" in first
    assert "You approved this; waiting for the other approvals." in first
    assert live_sandbox.control("GET", f"runs/{ids['runId']}")["output"] is None
    sam = Client()
    sam.force_login(second_reviewer)
    second = sam.post(f"/approvals/{approval.token_id}/approve", {}, **HTMX).content.decode()
    assert "Approved: Trigger.dev has resumed the run." in second
    assert _run_output(live_sandbox, ids["runId"])["decision"]["approvers"] == [
        "rita@example.com",
        "sam@example.com",
    ]


def test_an_htmx_decision_also_updates_the_rest_of_the_page_out_of_band(
    rita: Client, live_sandbox: Any
) -> None:
    """The page never says "Approved" in the panel beside "Pending" in its header."""
    ids = live_sandbox.start_run()
    approval = approval_for_sandbox_run(ids)
    response = rita.post(
        f"/approvals/{approval.token_id}/approve", {"approve-comment": "LGTM"}, **HTMX
    )
    body = response.content.decode()
    header = body[body.index('id="detail-state"') :]
    assert header.startswith('id="detail-state" hx-swap-oob="true">')
    assert '<span class="state state-decided">Approved</span>' in header
    assert "Pending" not in header.split("</p>")[0]
    timeline = body[body.index('id="timeline"') :]
    assert timeline.startswith('id="timeline" hx-swap-oob="true">')
    assert "Approved" in timeline and "LGTM" in timeline
    assert 'id="run-card" hx-swap-oob="true"' in body
