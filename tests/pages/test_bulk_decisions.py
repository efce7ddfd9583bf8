"""Bulk approve and reject from the queue: every item re-checked, each reported on its own."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from approvals.models import ApprovalState, Decision
from tests.decisions.helpers import make_policy
from tests.factories import approval_for_sandbox_run, make_approval
from tests.pages.conftest import HTMX

pytestmark = pytest.mark.usefixtures("transactional_db")


def test_bulk_asks_to_confirm_listing_each_approval_and_decides_nothing_yet(
    rita: Client,
) -> None:
    first = make_approval(description="Deploy billing 2.4")
    second = make_approval(description="Rotate the Stripe keys")
    response = rita.post(
        "/bulk/",
        {
            "token_ids": [first.token_id, second.token_id],
            "verdict": "approve",
            "comment": "Both checked",
        },
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Approve 2 approvals?" in body
    assert f'href="/approvals/{first.token_id}/"' in body and "Deploy billing 2.4" in body
    assert f'href="/approvals/{second.token_id}/"' in body and "Rotate the Stripe keys" in body
    assert "Both checked" in body
    assert 'name="confirmed"' in body
    assert not Decision.objects.exists()


def test_bulk_approve_decides_each_selected_row_and_reports_each(
    rita: Client, live_sandbox: Any
) -> None:
    first = approval_for_sandbox_run(live_sandbox.start_run())
    second = approval_for_sandbox_run(live_sandbox.start_run())
    untouched = approval_for_sandbox_run(live_sandbox.start_run())
    response = rita.post(
        "/bulk/",
        {
            "token_ids": [first.token_id, second.token_id],
            "verdict": "approve",
            "confirmed": "on",
        },
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="queue-results"')
    assert body.count("Approved: Trigger.dev has resumed the run.") == 2
    # Each report line names and links its approval.
    assert body.count(f'href="/approvals/{first.token_id}/"') == 1
    assert set(Decision.objects.values_list("approval__token_id", flat=True)) == {
        first.token_id,
        second.token_id,
    }
    # The refreshed table no longer lists the decided rows.
    assert f'data-token-id="{untouched.token_id}"' in body
    assert f'data-token-id="{first.token_id}"' not in body


def test_bulk_approve_sends_the_comment_and_not_the_reject_reason(
    rita: Client, live_sandbox: Any
) -> None:
    approval = approval_for_sandbox_run(live_sandbox.start_run())
    rita.post(
        "/bulk/",
        {
            "token_ids": [approval.token_id],
            "verdict": "approve",
            "comment": "Looks right",
            "reason": "typed into the other box",
            "confirmed": "on",
        },
        **HTMX,
    )
    assert Decision.objects.get().comment == "Looks right"


def test_a_fully_successful_bulk_action_clears_the_typed_text(
    rita: Client, live_sandbox: Any
) -> None:
    """Left in the box, the comment would go out again with the next bulk action."""
    approval = approval_for_sandbox_run(live_sandbox.start_run())
    make_approval(description="Still waiting")  # the queue, and its bulk form, stay
    response = rita.post(
        "/bulk/",
        {
            "token_ids": [approval.token_id],
            "verdict": "approve",
            "comment": "Checked the diff",
            "reason": "typed into the other box",
            "confirmed": "on",
        },
        **HTMX,
    )
    body = response.content.decode()
    assert Decision.objects.get().comment == "Checked the diff"
    assert "Checked the diff" not in body and "typed into the other box" not in body
    assert re.search(r'id="bulk-comment"[^>]*value=""', body)


def test_a_failed_bulk_action_keeps_the_selection_and_the_typed_text(rita: Client) -> None:
    make_policy(name="Comments please", require_comment=True)
    first = make_approval(description="Needs a comment")
    second = make_approval(description="Also needs one")
    response = rita.post(
        "/bulk/",
        {
            "token_ids": [first.token_id, second.token_id],
            "verdict": "approve",
            "reason": "half typed reason",
            "confirmed": "on",
        },
        **HTMX,
    )
    body = response.content.decode()
    assert not Decision.objects.exists()
    for approval in (first, second):
        assert f'value="{approval.token_id}" aria-label' in body
        assert re.search(rf'value="{re.escape(approval.token_id)}"[^>]*checked', body)
    assert 'value="half typed reason"' in body
    # The report line says which field needs attention.
    assert "Needs attention: Comment" in body
    assert ".. Needs attention" not in body  # one full stop, whatever the message ends with


def test_cancelling_the_confirmation_keeps_the_selection(rita: Client) -> None:
    approval = make_approval()
    response = rita.post(
        "/bulk/",
        {
            "token_ids": [approval.token_id],
            "verdict": "reject",
            "reason": "not now",
            "cancel": "on",
        },
        **HTMX,
    )
    body = response.content.decode()
    assert re.search(rf'value="{re.escape(approval.token_id)}"[^>]*checked', body)
    assert 'value="not now"' in body
    assert "errorlist" not in body
    assert not Decision.objects.exists()


def test_users_who_may_not_decide_see_no_checkboxes_or_bulk_buttons(otto: Client) -> None:
    make_approval()
    body = otto.get("/").content.decode()
    assert 'name="token_ids"' not in body
    assert "Approve selected" not in body and "Reject selected" not in body


def test_a_reviewer_outside_the_policy_gets_no_checkbox_for_that_row(rita: Client) -> None:
    make_policy(name="Finance only", task_pattern="pay-*", groups=("Finance",))
    theirs = make_approval(task_identifier="pay-invoice")
    mine = make_approval(task_identifier="deploy-production")
    body = rita.get("/?show=all").content.decode()
    assert f'value="{mine.token_id}"' in body
    assert f'value="{theirs.token_id}"' not in body
    assert "not yours to decide" in body


def test_bulk_reject_needs_a_reason_and_saves_nothing_without_one(
    rita: Client, live_sandbox: Any
) -> None:
    approval = approval_for_sandbox_run(live_sandbox.start_run())
    response = rita.post("/bulk/", {"token_ids": [approval.token_id], "verdict": "reject"}, **HTMX)
    assert response.status_code == 400
    assert "A reason is required to reject." in response.content.decode()
    assert not Decision.objects.exists()


def test_bulk_reject_reports_refused_items_beside_decided_ones(
    rita: Client, live_sandbox: Any
) -> None:
    open_one = approval_for_sandbox_run(live_sandbox.start_run())
    closed = make_approval(state=ApprovalState.TIMED_OUT, description="An old request")
    response = rita.post(
        "/bulk/?task=deploy-production",
        {
            "token_ids": [open_one.token_id, closed.token_id, "waitpoint_unknown"],
            "verdict": "reject",
            "reason": "Change freeze",
            "confirmed": "on",
        },
    )
    # Without JavaScript too, a partial failure answers with the page itself, the report
    # first (a redirect would lose what is still ticked and typed).
    assert response.status_code == 200
    body = response.content.decode()
    lines = re.findall(r'<li class="(ok|bad)">(.*?)</li>', body, re.S)
    assert [kind for kind, _ in lines] == ["ok", "bad", "bad"]
    assert "Rejected: Trigger.dev has resumed the run." in lines[0][1]
    assert "An old request" in lines[1][1] and "This approval expired" in lines[1][1]
    assert "waitpoint_unknown" in lines[2][1] and "No approval with token" in lines[2][1]


def test_a_fully_successful_bulk_without_javascript_redirects_to_the_same_queue(
    rita: Client, live_sandbox: Any
) -> None:
    approval = approval_for_sandbox_run(live_sandbox.start_run(), description="Ship it")
    response = rita.post(
        "/bulk/?task=deploy-production",
        {"token_ids": [approval.token_id], "verdict": "approve", "confirmed": "on"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/?task=deploy-production"
    lines = [str(m) for m in get_messages(response.wsgi_request)]
    assert lines == ["Ship it: Approved: Trigger.dev has resumed the run."]


def test_bulk_decisions_are_rechecked_for_each_item(otto: Client, live_sandbox: Any) -> None:
    approval = approval_for_sandbox_run(live_sandbox.start_run())
    response = otto.post(
        "/bulk/",
        {"token_ids": [approval.token_id], "verdict": "approve", "confirmed": "on"},
        **HTMX,
    )
    assert "You do not have permission to decide approvals." in response.content.decode()
    assert not Decision.objects.exists()


def test_selecting_nothing_is_an_error(rita: Client) -> None:
    response = rita.post("/bulk/", {"verdict": "approve"}, **HTMX)
    assert response.status_code == 400
    assert "Select at least one approval." in response.content.decode()


def test_the_confirmation_says_which_items_will_be_refused_or_only_counted(rita: Client) -> None:
    make_policy(name="Comments please", task_pattern="refund-*", require_comment=True)
    make_policy(name="Two keys", task_pattern="deploy-*", approvals_required=2)
    refund = make_approval(task_identifier="refund-order", description="Refund 20")
    deploy = make_approval(task_identifier="deploy-web", description="Deploy web")
    body = rita.post(
        "/bulk/",
        {"token_ids": [refund.token_id, deploy.token_id], "verdict": "approve"},
        **HTMX,
    ).content.decode()
    items = re.findall(r"<li>(.*?)</li>", body[body.index("confirm-list") :], re.S)
    assert "its policy requires a comment: it will be refused" in items[0]
    assert "your approval will be 1 of 2" in items[1]
