"""Completing a token answers 200 even when someone else won; retrieving it tells."""

from __future__ import annotations

import pytest

from approvals.decisions import decide
from approvals.models import Approval, ApprovalState, DeliveryState
from approvals.upstream import trigger_client
from tests.decisions.helpers import finished_run
from tests.factories import approval_for_sandbox_run, make_approval

pytestmark = pytest.mark.django_db(transaction=True)


def test_token_completed_elsewhere_first_is_classified_and_recorded(live_sandbox, reviewer):
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)
    theirs = {"approved": False, "decision": "rejected", "rejectedBy": "bot@example.com"}
    with trigger_client() as client:
        client.waitpoints.complete(ids["tokenId"], theirs)

    result = decide(token_id=ids["tokenId"], actor=reviewer, verdict="approve")

    assert result.delivery == DeliveryState.COMPLETED_ELSEWHERE
    assert "completed elsewhere" in result.message
    result.decision.refresh_from_db()
    assert result.decision.upstream_output == theirs
    assert finished_run(live_sandbox, ids["runId"])["output"]["decision"] == theirs


def test_timed_out_token_counts_as_completed_elsewhere(live_sandbox, reviewer):
    ids = live_sandbox.start_run(timeout="10s")
    approval_for_sandbox_run(ids)
    live_sandbox.control("POST", "clock", {"advanceSeconds": 11})

    result = decide(token_id=ids["tokenId"], actor=reviewer, verdict="reject", comment="slow")

    assert result.delivery == DeliveryState.COMPLETED_ELSEWHERE
    result.decision.refresh_from_db()
    assert result.decision.last_error == "the token timed out before delivery"
    assert result.decision.upstream_output["code"] == "TRIGGER_WAITPOINT_TIMEOUT"


def test_token_that_no_longer_exists_is_gone(live_sandbox, reviewer):
    approval = make_approval(token_id="waitpoint_doesnotexist")

    result = decide(token_id=approval.token_id, actor=reviewer, verdict="approve")

    assert result.delivery == DeliveryState.TOKEN_GONE
    assert "no longer exists" in result.message
    assert Approval.objects.get(pk=approval.pk).state == ApprovalState.GONE
