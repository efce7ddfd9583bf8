"""Every change of an approval raises one event after commit, wherever it happened; a change
that is rolled back raises nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from approvals.decisions import decide, deliver_due
from approvals.events import ApprovalEvent, Kind
from approvals.models import Approval, ApprovalPolicy, Decision
from approvals.sync import sync_once
from approvals.trigger import TriggerClient
from tests.factories import make_approval


def _kinds(raised: list[ApprovalEvent], approval: Approval) -> list[str]:
    return [str(e.kind) for e in raised if e.approval_id == approval.pk]


def test_a_vote_and_a_decision_are_announced_only_once_committed(
    transactional_db: None, reviewer: Any, second_reviewer: Any, raised: list[ApprovalEvent]
) -> None:
    ApprovalPolicy.objects.create(name="two", approvals_required=2)
    approval = make_approval()

    with transaction.atomic():
        decide(token_id=approval.token_id, actor=reviewer, verdict="approve", deliver_now=False)
        assert raised == []  # not before commit
    decide(token_id=approval.token_id, actor=second_reviewer, verdict="approve", deliver_now=False)

    assert _kinds(raised, approval) == ["voted", "decided"]
    assert {e.token_id for e in raised} == {approval.token_id}


def test_a_rolled_back_decision_announces_nothing(
    transactional_db: None, reviewer: Any, raised: list[ApprovalEvent]
) -> None:
    approval = make_approval()

    with pytest.raises(RuntimeError), transaction.atomic():
        decide(token_id=approval.token_id, actor=reviewer, verdict="approve", deliver_now=False)
        raise RuntimeError("rolled back")

    assert raised == []


def test_the_sync_announces_new_changed_and_leaving_approvals(
    transactional_db: None, live_sandbox: Any, trigger: TriggerClient, raised: list[ApprovalEvent]
) -> None:
    first = live_sandbox.start_run(description="First")
    second = live_sandbox.start_run(description="Second")
    sync_once(client=trigger)
    one = Approval.objects.get(token_id=first["tokenId"])
    two = Approval.objects.get(token_id=second["tokenId"])
    assert _kinds(raised, one) == ["appeared"] and _kinds(raised, two) == ["appeared"]

    raised.clear()
    sync_once(client=trigger)  # nothing changed upstream: nothing to say
    assert raised == []

    trigger.waitpoints.complete(first["tokenId"], {"approved": True, "by": "someone else"})
    sync_once(client=trigger)
    assert _kinds(raised, one) == ["left"] and _kinds(raised, two) == []
    assert Approval.objects.get(pk=one.pk).state == "completed_elsewhere"


def test_delivery_attempts_are_announced(
    transactional_db: None, live_sandbox: Any, trigger: TriggerClient, reviewer: Any,
    raised: list[ApprovalEvent],
) -> None:  # fmt: skip
    ids = live_sandbox.start_run()
    sync_once(client=trigger)
    approval = Approval.objects.get(token_id=ids["tokenId"])
    raised.clear()
    live_sandbox.faults(errorRate=1.0)
    decide(token_id=approval.token_id, actor=reviewer, verdict="approve")
    assert _kinds(raised, approval) == ["decided", "delivery"]  # the attempt failed

    live_sandbox.faults(errorRate=0.0)
    raised.clear()
    # The retry made due now rather than after its backoff.
    Decision.objects.filter(approval=approval).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert deliver_due() == 1
    assert _kinds(raised, approval) == ["delivery"]
    assert Decision.objects.get(approval=approval).delivery_state == "delivered"


def test_a_failing_subscriber_does_not_fail_the_decision(
    transactional_db: None, reviewer: Any, raised: list[ApprovalEvent]
) -> None:
    from approvals import events

    def broken(event: ApprovalEvent) -> None:
        raise ValueError("subscriber is broken")

    events.subscribe(broken)
    try:
        approval = make_approval()
        result = decide(
            token_id=approval.token_id, actor=reviewer, verdict="approve", deliver_now=False
        )
    finally:
        events.unsubscribe(broken)

    assert result.decision is not None
    assert _kinds(raised, approval) == [Kind.DECIDED]
