"""Upstream trouble while people decide: the decision is saved, the reviewer is told, and the
worker delivers it, once, with the same verdict, when Trigger.dev recovers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.decisions import decide, deliver_due
from approvals.models import Decision, DeliveryState
from tests.decisions.helpers import finished_run, token_upstream
from tests.factories import approval_for_sandbox_run

pytestmark = pytest.mark.django_db(transaction=True)

FAULTS = {
    "server errors": {"errorRate": 1.0},
    "answers slower than the timeout": {"latencyMs": 1500},
    "rate limited": {"rateLimit": 1},
    "dropped connections": {"dropRate": 1.0},
}
ALL_CLEAR = {"latencyMs": 0, "errorRate": 0, "rateLimit": 0, "dropRate": 0}


@pytest.mark.parametrize("faults", FAULTS.values(), ids=FAULTS.keys())
@pytest.mark.parametrize("verdict", ["approve", "reject"])
def test_decision_is_saved_during_trouble_and_delivered_after_recovery(
    live_sandbox, reviewer, settings, faults, verdict
):
    settings.APPROVAL_DELIVERY_TIMEOUT_SECONDS = 0.4
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)
    live_sandbox.faults(**faults)

    result = decide(token_id=ids["tokenId"], actor=reviewer, verdict=verdict, comment="why")

    assert result.delivery == DeliveryState.PENDING
    assert result.message.endswith(
        "Trigger.dev is unreachable: your decision is saved and will be delivered."
    )
    saved = Decision.objects.get()
    assert saved.delivery_state == DeliveryState.PENDING
    assert saved.attempts == 1
    assert saved.last_error
    assert saved.next_attempt_at > timezone.now()
    envelope = saved.envelope

    live_sandbox.faults(**ALL_CLEAR)
    assert deliver_due() == 0  # not due yet: the worker backs off
    later = timezone.now() + timedelta(minutes=10)
    assert deliver_due(now=later) == 1

    saved.refresh_from_db()
    assert saved.delivery_state == DeliveryState.DELIVERED
    assert saved.envelope == envelope
    assert token_upstream(live_sandbox, ids["tokenId"])["status"] == "COMPLETED"
    run = finished_run(live_sandbox, ids["runId"])
    expected = "approved" if verdict == "approve" else "rejected"
    assert run["output"] == {"status": expected, "decision": envelope}
    assert deliver_due(now=later + timedelta(hours=1)) == 0


def test_backoff_doubles_between_attempts(live_sandbox, reviewer, settings):
    settings.APPROVAL_DELIVERY_BACKOFF_SECONDS = 2
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)
    live_sandbox.faults(errorRate=1.0)
    decide(token_id=ids["tokenId"], actor=reviewer, verdict="approve")
    decision = Decision.objects.get()
    gaps = []
    for _ in range(3):
        before = decision.next_attempt_at
        deliver_due(now=before)
        decision.refresh_from_db()
        gaps.append(round((decision.next_attempt_at - before).total_seconds()))

    assert decision.attempts == 4
    assert decision.delivery_state == DeliveryState.PENDING
    assert gaps == [4, 8, 16]
