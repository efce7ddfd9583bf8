"""The realtime follower skips a run it cannot apply and goes on with the others."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from approvals.models import Approval
from approvals.sync import NOTE_NON_FINITE, reconcile
from approvals.sync import follower as realtime_sync
from approvals.sync.follower import RealtimeFollower
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_nan_payload_reaches_the_queue_through_the_feed(
    live_sandbox: Any, follower: RealtimeFollower
) -> None:
    response = httpx.post(
        f"{live_sandbox.url}/_sandbox/runs",
        content='{"task": "nan-payload", "payload": {"amount": NaN}, "description": "nan"}',
        headers={"content-type": "application/json"},
        timeout=10,
    )
    poison = response.json()
    healthy = live_sandbox.start_run(description="healthy after nan")

    wait_until(lambda: Approval.objects.filter(token_id=healthy["tokenId"]).exists())
    stored = wait_until(lambda: Approval.objects.filter(token_id=poison["tokenId"]).first())
    assert stored.payload == {"amount": None}
    assert NOTE_NON_FINITE in stored.upstream_notes


def test_a_run_that_cannot_be_applied_does_not_stall_the_feed(
    live_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    poison = live_sandbox.start_run(description="cannot be applied")
    real_apply = reconcile.apply_run_change
    refused: list[str] = []

    def apply_or_fail(*, run: Any, client: Any) -> Any:
        if run.id == poison["runId"]:
            refused.append(run.id)
            raise RuntimeError("a record nothing foresaw")
        return real_apply(run=run, client=client)

    monkeypatch.setattr(realtime_sync, "apply_run_change", apply_or_fail)
    follower = RealtimeFollower()
    follower.start()
    try:
        healthy = live_sandbox.start_run(description="arrives after the poison")
        wait_until(lambda: Approval.objects.filter(token_id=healthy["tokenId"]).exists())
    finally:
        follower.stop()
    assert refused == [poison["runId"]]  # tried once, not again and again by restarting
