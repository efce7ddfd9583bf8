"""The realtime tag feed moves the read model without waiting for a reconcile pass."""

from __future__ import annotations

from typing import Any

import pytest

from approvals.models import Approval, ApprovalState
from approvals.sync.follower import RealtimeFollower
from approvals.trigger import TriggerClient
from tests.waiting import wait_until

from .conftest import retrieves, sandbox_run

pytestmark = pytest.mark.django_db(transaction=True)


def _approval(token_id: str) -> Approval | None:
    return Approval.objects.filter(token_id=token_id).first()


def test_the_follower_adds_a_new_run_without_a_reconcile(
    live_sandbox: Any, follower: RealtimeFollower
):
    ids = live_sandbox.start_run(description="seen live", payload={"n": 1})

    approval = wait_until(lambda: _approval(ids["tokenId"]))

    assert approval.state == ApprovalState.PENDING
    assert approval.description == "seen live"
    assert approval.payload == {"n": 1}
    assert approval.expires_at is not None
    # No list and no details call: the feed row carries the run, one call checks the token.
    requests = live_sandbox.stats()["requests"]
    assert "GET /api/v1/runs" not in requests
    assert retrieves(live_sandbox) == 0


def test_the_follower_records_a_status_change(live_sandbox: Any, follower: RealtimeFollower):
    ids = live_sandbox.start_run()
    wait_until(lambda: _approval(ids["tokenId"]))
    run = sandbox_run(live_sandbox, ids["runId"])

    live_sandbox.app.world.update_run(run.id, status="EXECUTING")

    wait_until(lambda: _approval(ids["tokenId"]).run_status == "EXECUTING")
    assert _approval(ids["tokenId"]).state == ApprovalState.PENDING  # its token still waits


def test_the_follower_closes_an_approval_completed_elsewhere(
    live_sandbox: Any, follower: RealtimeFollower, trigger: TriggerClient
):
    ids = live_sandbox.start_run()
    wait_until(lambda: _approval(ids["tokenId"]))

    trigger.waitpoints.complete(ids["tokenId"], {"approved": False})

    approval = wait_until(
        lambda: (a := _approval(ids["tokenId"])) and a.state != ApprovalState.PENDING and a
    )
    assert approval.state == ApprovalState.COMPLETED_ELSEWHERE


def test_the_follower_survives_a_failing_upstream(live_sandbox: Any, follower: RealtimeFollower):
    def feed_requests() -> int:
        return int(live_sandbox.stats()["requests"].get("GET /realtime/v1/runs", 0))

    live_sandbox.faults(errorRate=1.0)
    # A long-poll already waiting when the faults began still answers normally. A first run
    # wakes it; the run under test starts once a request made after the faults came in.
    failing_since = feed_requests()
    live_sandbox.start_run(description="wakes the long-poll in flight")
    wait_until(lambda: feed_requests() >= failing_since + 1)
    ids = live_sandbox.start_run()
    failing_since = feed_requests()
    wait_until(lambda: feed_requests() >= failing_since + 2)  # the feed has failed, twice
    assert _approval(ids["tokenId"]) is None
    live_sandbox.faults(errorRate=0.0)

    assert wait_until(lambda: _approval(ids["tokenId"]))
    assert follower.alive
