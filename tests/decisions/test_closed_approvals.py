from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.decisions import ApprovalClosed, ApprovalNotFound, decide
from approvals.models import ApprovalState, Decision, Vote
from tests.factories import make_approval

pytestmark = pytest.mark.django_db


def test_expired_approval_cannot_be_decided(reviewer):
    approval = make_approval(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(ApprovalClosed) as refused:
        decide(token_id=approval.token_id, actor=reviewer, verdict="approve")

    assert refused.value.status == 409
    assert refused.value.message == "this approval expired"
    assert not Vote.objects.exists()


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (ApprovalState.TIMED_OUT, "this approval expired"),
        (ApprovalState.COMPLETED_ELSEWHERE, "this approval was completed elsewhere"),
        (ApprovalState.RUN_ENDED, "this approval's run has ended"),
        (ApprovalState.GONE, "this approval's token no longer exists on Trigger.dev"),
    ],
)
def test_approval_that_left_the_queue_is_closed(reviewer, state, message):
    approval = make_approval(state=state)

    with pytest.raises(ApprovalClosed) as refused:
        decide(token_id=approval.token_id, actor=reviewer, verdict="reject", comment="late")

    assert refused.value.message == message
    assert not Decision.objects.exists()


def test_unknown_token_is_not_found(reviewer):
    with pytest.raises(ApprovalNotFound) as refused:
        decide(token_id="waitpoint_nope", actor=reviewer, verdict="approve")

    assert refused.value.status == 404
