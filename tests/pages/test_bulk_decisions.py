"""Bulk approve and reject from the queue: every item re-checked, each reported on its own."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from approvals.models import ApprovalState, Decision
from tests.factories import approval_for_sandbox_run, make_approval
from tests.pages.conftest import HTMX

pytestmark = pytest.mark.usefixtures("transactional_db")


def test_bulk_approve_decides_each_selected_row_and_reports_each(
    rita: Client, live_sandbox: Any
) -> None:
    first = approval_for_sandbox_run(live_sandbox.start_run())
    second = approval_for_sandbox_run(live_sandbox.start_run())
    untouched = approval_for_sandbox_run(live_sandbox.start_run())
    response = rita.post(
        "/bulk/",
        {"token_ids": [first.token_id, second.token_id], "verdict": "approve"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="queue-results"')
    assert body.count("Approved: Trigger.dev has resumed the run.") == 2
    assert set(Decision.objects.values_list("approval__token_id", flat=True)) == {
        first.token_id,
        second.token_id,
    }
    # The refreshed table no longer lists the decided rows.
    assert f'data-token-id="{untouched.token_id}"' in body
    assert f'data-token-id="{first.token_id}"' not in body


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
    closed = make_approval(state=ApprovalState.TIMED_OUT)
    response = rita.post(
        "/bulk/?task=deploy-production",
        {
            "token_ids": [open_one.token_id, closed.token_id, "waitpoint_unknown"],
            "verdict": "reject",
            "reason": "Change freeze",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/?task=deploy-production"
    lines = [str(m) for m in get_messages(response.wsgi_request)]
    assert lines == [
        f"{open_one.token_id}: Rejected: Trigger.dev has resumed the run.",
        f"{closed.token_id}: This approval expired",
        "waitpoint_unknown: No approval with token 'waitpoint_unknown'.",
    ]


def test_bulk_decisions_are_rechecked_for_each_item(otto: Client, live_sandbox: Any) -> None:
    approval = approval_for_sandbox_run(live_sandbox.start_run())
    response = otto.post("/bulk/", {"token_ids": [approval.token_id], "verdict": "approve"}, **HTMX)
    assert "You do not have permission to decide approvals." in response.content.decode()
    assert not Decision.objects.exists()


def test_selecting_nothing_is_an_error(rita: Client) -> None:
    response = rita.post("/bulk/", {"verdict": "approve"}, **HTMX)
    assert response.status_code == 400
    assert "Select at least one approval." in response.content.decode()
