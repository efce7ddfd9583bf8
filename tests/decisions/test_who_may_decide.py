from __future__ import annotations

import pytest

from approvals.decisions import NotPermitted, decide
from approvals.models import Decision, Vote
from approvals.policies import refusal_reason
from tests.decisions.helpers import completions, make_policy, reviewer_named
from tests.factories import make_approval

pytestmark = pytest.mark.django_db


def test_outsider_without_the_reviewer_permission_is_refused(outsider):
    approval = make_approval()

    with pytest.raises(NotPermitted) as refused:
        decide(token_id=approval.token_id, actor=outsider, verdict="approve")

    assert refused.value.status == 403
    assert not Vote.objects.exists()


def test_policy_limits_deciding_to_its_groups(reviewer):
    make_policy(task_pattern="deploy-*", groups=("Release managers",))
    approval = make_approval(task_identifier="deploy-production")

    with pytest.raises(NotPermitted) as refused:
        decide(token_id=approval.token_id, actor=reviewer, verdict="approve")

    assert "Release managers" in refused.value.message
    assert not Decision.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_member_of_the_policy_group_may_decide(live_sandbox):
    make_policy(task_pattern="deploy-*", groups=("Release managers",))
    manager = reviewer_named("mona", groups=("Reviewers", "Release managers"))
    ids = live_sandbox.start_run()
    approval = make_approval(token_id=ids["tokenId"], run_id=ids["runId"])

    result = decide(token_id=approval.token_id, actor=manager, verdict="approve")

    assert result.delivery == "delivered"
    assert completions(live_sandbox) == 1


def test_policy_for_other_tasks_does_not_apply(reviewer):
    make_policy(task_pattern="billing-*", groups=("Finance",))
    approval = make_approval(task_identifier="deploy-production")

    assert refusal_reason(user=reviewer, approval=approval) is None


def test_policy_chosen_by_tag(reviewer):
    make_policy(tag="pci", groups=("Security",))
    tagged = make_approval(run_tags=["needs-approval", "pci"])
    untagged = make_approval()

    assert "Security" in refusal_reason(user=reviewer, approval=tagged)
    assert refusal_reason(user=reviewer, approval=untagged) is None


def test_requester_may_not_approve_their_own_run(reviewer):
    approval = make_approval(requested_by="RITA@example.com")

    with pytest.raises(NotPermitted) as refused:
        decide(token_id=approval.token_id, actor=reviewer, verdict="approve")

    assert refused.value.message == "You requested this run, and may not approve it yourself."


def test_requester_matched_by_username_too(reviewer):
    approval = make_approval(requested_by="rita")

    assert refusal_reason(user=reviewer, approval=approval) is not None


def test_requester_may_still_reject_their_own_run(reviewer):
    approval = make_approval(requested_by="rita@example.com")

    assert refusal_reason(user=reviewer, approval=approval, verdict="reject") is None


def test_policy_may_allow_self_approval(reviewer):
    make_policy(allow_self_approval=True)
    approval = make_approval(requested_by="rita@example.com")

    assert refusal_reason(user=reviewer, approval=approval) is None
