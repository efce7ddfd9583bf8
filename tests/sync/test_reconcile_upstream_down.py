"""When Trigger.dev's lists fail, a pass stops cleanly and changes nothing. (A single record
that fails after the lists is skipped instead: tests/sync/test_poison_records.py.)"""

from __future__ import annotations

from typing import Any

from approvals.models import Approval, ApprovalState
from approvals.sync import sync_once
from approvals.trigger import TriggerClient


def test_a_pass_against_a_failing_upstream_reports_the_error_and_writes_nothing(
    db: None, live_sandbox: Any, trigger: TriggerClient
):
    kept = live_sandbox.start_run(description="already known")
    sync_once(client=trigger)
    trigger.waitpoints.complete(kept["tokenId"], {"approved": True})  # would close it
    live_sandbox.start_run(description="would be new")
    before = list(Approval.objects.values_list("token_id", "state", "synced_at"))
    live_sandbox.faults(errorRate=1.0)

    report = sync_once(client=trigger)

    assert not report.ok
    assert "ServerError" in report.error
    assert report.created == report.updated == 0 and report.closed == {}
    assert "FAILED" in report.summary()
    assert list(Approval.objects.values_list("token_id", "state", "synced_at")) == before


def test_the_next_pass_after_recovery_catches_up(
    db: None, live_sandbox: Any, trigger: TriggerClient
):
    live_sandbox.faults(errorRate=1.0)
    ids = live_sandbox.start_run()
    assert not sync_once(client=trigger).ok
    live_sandbox.faults(errorRate=0.0)

    report = sync_once(client=trigger)

    assert report.ok and report.created == 1
    assert Approval.objects.get(token_id=ids["tokenId"]).state == ApprovalState.PENDING
