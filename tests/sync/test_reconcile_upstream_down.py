"""When Trigger.dev fails, a pass stops cleanly and changes nothing."""

from __future__ import annotations

from typing import Any

from approvals.models import Approval, ApprovalState
from approvals.sync import sync_once
from approvals.trigger import TriggerClient


def test_a_pass_against_a_failing_upstream_reports_the_error_and_writes_nothing(
    db: None, live_sandbox: Any, client: TriggerClient
):
    kept = live_sandbox.start_run(description="already known")
    sync_once(client=client)
    client.waitpoints.complete(kept["tokenId"], {"approved": True})  # would close it
    live_sandbox.start_run(description="would be new")
    before = list(Approval.objects.values_list("token_id", "state", "synced_at"))
    live_sandbox.faults(errorRate=1.0)

    report = sync_once(client=client)

    assert not report.ok
    assert "ServerError" in report.error
    assert report.created == report.updated == 0 and report.closed == {}
    assert "FAILED" in report.summary()
    assert list(Approval.objects.values_list("token_id", "state", "synced_at")) == before


def test_the_next_pass_after_recovery_catches_up(
    db: None, live_sandbox: Any, client: TriggerClient
):
    live_sandbox.faults(errorRate=1.0)
    ids = live_sandbox.start_run()
    assert not sync_once(client=client).ok
    live_sandbox.faults(errorRate=0.0)

    report = sync_once(client=client)

    assert report.ok and report.created == 1
    assert Approval.objects.get(token_id=ids["tokenId"]).state == ApprovalState.PENDING


def test_a_failure_after_the_lists_also_writes_nothing(
    db: None, live_sandbox: Any, client: TriggerClient, monkeypatch: Any
):
    """The details calls come after the lists; failing there must not leave half a pass."""
    live_sandbox.start_run(description="one")
    live_sandbox.start_run(description="two")
    calls = {"n": 0}
    real_retrieve = client.runs.retrieve

    def retrieve_then_fail(run_id: str) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            live_sandbox.faults(errorRate=1.0)
        return real_retrieve(run_id)

    monkeypatch.setattr(client.runs, "retrieve", retrieve_then_fail)

    report = sync_once(client=client)

    assert not report.ok
    assert not Approval.objects.exists()
