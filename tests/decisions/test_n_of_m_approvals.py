from __future__ import annotations

import pytest

from approvals.decisions import AlreadyVoted, decide
from approvals.models import Approval, ApprovalState, Decision, Vote
from tests.decisions.helpers import completions, finished_run, make_policy, reviewer_named
from tests.factories import approval_for_sandbox_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_token_completes_only_once_two_distinct_reviewers_approved(
    live_sandbox, reviewer, second_reviewer
):
    make_policy(task_pattern="deploy-*", approvals_required=2)
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)

    first = decide(token_id=ids["tokenId"], actor=reviewer, verdict="approve", comment="lgtm")

    assert first.decision is None
    assert first.delivery == "awaiting_more_approvals"
    assert "1 of 2" in first.message
    assert Approval.objects.get().state == ApprovalState.PENDING
    assert completions(live_sandbox) == 0

    second = decide(token_id=ids["tokenId"], actor=second_reviewer, verdict="approve")

    assert second.delivery == "delivered"
    envelope = second.decision.envelope
    assert envelope["approvedBy"] == "sam@example.com"
    assert envelope["approvers"] == ["rita@example.com", "sam@example.com"]
    assert finished_run(live_sandbox, ids["runId"])["output"]["decision"] == envelope
    assert completions(live_sandbox) == 1


def test_a_reviewer_cannot_count_twice(live_sandbox, reviewer):
    make_policy(approvals_required=2)
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)
    decide(token_id=ids["tokenId"], actor=reviewer, verdict="approve")

    with pytest.raises(AlreadyVoted) as refused:
        decide(token_id=ids["tokenId"], actor=reviewer, verdict="approve")

    assert "you already approved this" in refused.value.message
    assert Vote.objects.count() == 1
    assert not Decision.objects.exists()


def test_one_rejection_rejects_even_after_approvals(live_sandbox, reviewer, second_reviewer):
    make_policy(approvals_required=3)
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)
    decide(token_id=ids["tokenId"], actor=reviewer, verdict="approve")
    decide(token_id=ids["tokenId"], actor=second_reviewer, verdict="approve")

    result = decide(
        token_id=ids["tokenId"],
        actor=reviewer_named("quinn"),
        verdict="reject",
        comment="breaks billing",
    )

    assert result.decision.envelope["rejectedBy"] == "quinn@example.com"
    assert finished_run(live_sandbox, ids["runId"])["output"]["status"] == "rejected"
