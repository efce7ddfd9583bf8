"""Approvals that stop waiting upstream leave the queue, with the reason recorded."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from approvals.models import Approval, ApprovalState, Decision, Verdict
from approvals.sync import sync_once
from approvals.trigger import TriggerClient
from tests.factories import make_approval

from .conftest import sandbox_run


def _pending(live_sandbox: Any, trigger: TriggerClient, **fields: Any) -> dict[str, str]:
    ids = live_sandbox.start_run(**fields)
    sync_once(client=trigger)
    assert Approval.objects.get(token_id=ids["tokenId"]).state == ApprovalState.PENDING
    return ids


def test_a_token_completed_elsewhere_leaves_the_queue(
    db: None, live_sandbox: Any, trigger: TriggerClient
):
    ids = _pending(live_sandbox, trigger)
    trigger.waitpoints.complete(ids["tokenId"], {"approved": True, "approvedBy": "cli"})

    report = sync_once(client=trigger)

    assert report.closed == {ApprovalState.COMPLETED_ELSEWHERE: 1}
    approval = Approval.objects.get(token_id=ids["tokenId"])
    assert approval.state == ApprovalState.COMPLETED_ELSEWHERE
    assert approval.closed_reason and approval.closed_at is not None


def test_a_timed_out_token_leaves_the_queue(db: None, live_sandbox: Any, trigger: TriggerClient):
    ids = _pending(live_sandbox, trigger, timeout="10m")
    live_sandbox.control("POST", "clock", {"advanceSeconds": 11 * 60})

    report = sync_once(client=trigger)

    assert report.closed == {ApprovalState.TIMED_OUT: 1}
    approval = Approval.objects.get(token_id=ids["tokenId"])
    assert approval.state == ApprovalState.TIMED_OUT
    assert "timed out" in approval.closed_reason.lower()


def test_a_run_that_ended_leaves_the_queue_with_its_final_status(
    db: None, live_sandbox: Any, trigger: TriggerClient
):
    ids = _pending(live_sandbox, trigger)
    run = sandbox_run(live_sandbox, ids["runId"])
    live_sandbox.app.world.update_run(
        run.id, status="CANCELED", waiting_on_token=None, completed_at=timezone.now()
    )

    report = sync_once(client=trigger)

    assert report.closed == {ApprovalState.RUN_ENDED: 1}
    approval = Approval.objects.get(token_id=ids["tokenId"])
    assert approval.state == ApprovalState.RUN_ENDED
    assert approval.run_status == "CANCELED"
    assert "CANCELED" in approval.closed_reason


def test_a_token_unknown_upstream_is_gone(db: None, live_sandbox: Any, trigger: TriggerClient):
    orphan = make_approval(token_id="waitpoint_doesnotexist", run_id="run_doesnotexist")

    report = sync_once(client=trigger)

    assert report.ok and report.closed == {ApprovalState.GONE: 1}
    orphan.refresh_from_db()
    assert orphan.state == ApprovalState.GONE


def test_a_decided_approval_is_left_to_the_decision_service(
    db: None, live_sandbox: Any, trigger: TriggerClient, reviewer: Any
):
    ids = _pending(live_sandbox, trigger)
    approval = Approval.objects.get(token_id=ids["tokenId"])
    approval.state = ApprovalState.DECIDED
    approval.save(update_fields=["state"])
    Decision.objects.create(approval=approval, actor=reviewer, verdict=Verdict.APPROVE, envelope={})
    trigger.waitpoints.complete(ids["tokenId"], {"approved": True})
    live_sandbox.control("POST", "clock", {"advanceSeconds": 5})  # the run finishes

    report = sync_once(client=trigger)

    assert report.closed == {}
    approval.refresh_from_db()
    assert approval.state == ApprovalState.DECIDED
    assert approval.closed_reason == ""


def test_a_decided_approval_still_waiting_gets_its_run_status(
    db: None, live_sandbox: Any, trigger: TriggerClient, reviewer: Any
):
    ids = _pending(live_sandbox, trigger)
    approval = Approval.objects.get(token_id=ids["tokenId"])
    Decision.objects.create(approval=approval, actor=reviewer, verdict=Verdict.APPROVE, envelope={})
    Approval.objects.filter(pk=approval.pk).update(run_status="QUEUED", description="kept")

    sync_once(client=trigger)

    approval.refresh_from_db()
    assert approval.run_status == "WAITING"
    assert approval.description == "kept"
