from __future__ import annotations

import pytest

from approvals.decisions import AlreadyDecided, decide
from approvals.models import Decision
from tests.decisions.helpers import completions
from tests.factories import approval_for_sandbox_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_second_reviewer_is_told_who_decided_and_when(live_sandbox, reviewer, second_reviewer):
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)
    first = decide(token_id=ids["tokenId"], actor=reviewer, verdict="approve")

    with pytest.raises(AlreadyDecided) as refused:
        decide(token_id=ids["tokenId"], actor=second_reviewer, verdict="reject", comment="no")

    assert refused.value.status == 409
    assert refused.value.message.startswith("already decided by rita@example.com at ")
    assert f"{first.decision.decided_at:%Y-%m-%d %H:%M}" in refused.value.message
    assert Decision.objects.count() == 1
    assert completions(live_sandbox) == 1


def test_the_same_reviewer_cannot_decide_twice(live_sandbox, reviewer):
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)
    decide(token_id=ids["tokenId"], actor=reviewer, verdict="reject", comment="no")

    with pytest.raises(AlreadyDecided):
        decide(token_id=ids["tokenId"], actor=reviewer, verdict="approve")

    assert Decision.objects.get().verdict == "reject"
