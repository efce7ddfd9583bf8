"""After delivery the run is followed to its end; a run that does not resume after its token
was completed is flagged on the page and counted in the admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from approvals.admin import stuck_runs
from approvals.decisions import decide
from approvals.events import ApprovalEvent
from approvals.models import Approval, Decision
from approvals.sync import sync_once
from approvals.trigger import TriggerClient


def _decided(live_sandbox: Any, trigger: TriggerClient, reviewer: Any) -> Approval:
    ids = live_sandbox.start_run(description="Release 4.2")
    sync_once(client=trigger)
    approval = Approval.objects.get(token_id=ids["tokenId"])
    result = decide(token_id=approval.token_id, actor=reviewer, verdict="approve")
    assert result.delivery == "delivered"
    return approval


def test_the_run_is_followed_until_it_completes_with_its_output(
    transactional_db: None, live_sandbox: Any, trigger: TriggerClient, reviewer: Any,
    raised: list[ApprovalEvent],
) -> None:  # fmt: skip
    approval = _decided(live_sandbox, trigger, reviewer)
    live_sandbox.control("POST", "clock", {"advanceSeconds": 0.1})  # resumes: EXECUTING
    raised.clear()

    sync_once(client=trigger)
    approval.refresh_from_db()
    assert approval.run_status == "EXECUTING" and approval.run_resumed_at is not None
    assert approval.run_finished_at is None
    assert [e.kind for e in raised if e.approval_id == approval.pk] == ["changed"]

    live_sandbox.control("POST", "clock", {"advanceSeconds": 5})  # finishes
    sync_once(client=trigger)
    approval.refresh_from_db()
    assert approval.run_status == "COMPLETED"
    assert approval.run_finished_at is not None
    assert approval.run_output["status"] == "approved"
    assert approval.run_output["decision"]["approvedBy"] == reviewer.email

    calls_before = live_sandbox.stats()["requests"].get("GET /api/v3/runs/{runId}", 0)
    sync_once(client=trigger)  # a finished run is no longer retrieved
    assert live_sandbox.stats()["requests"].get("GET /api/v3/runs/{runId}", 0) == calls_before


def test_the_detail_page_shows_the_resumed_and_finished_run(
    transactional_db: None, live_sandbox: Any, trigger: TriggerClient, reviewer: Any,
    client: Client,
) -> None:  # fmt: skip
    approval = _decided(live_sandbox, trigger, reviewer)
    live_sandbox.control("POST", "clock", {"advanceSeconds": 0.1})
    live_sandbox.control("POST", "clock", {"advanceSeconds": 5})
    sync_once(client=trigger)
    client.force_login(reviewer)

    body = client.get(f"/approvals/{approval.token_id}/").content.decode()

    assert "Run resumed" in body and "Run ended: completed" in body
    assert "&quot;status&quot;: &quot;approved&quot;" in body  # the output, escaped


def test_a_run_that_does_not_resume_is_flagged_then_cleared_when_it_moves(
    transactional_db: None, live_sandbox: Any, trigger: TriggerClient, reviewer: Any,
    admin_user: Any, client: Client, settings: Any, raised: list[ApprovalEvent],
) -> None:  # fmt: skip
    settings.APPROVAL_RUN_RESUME_SECONDS = 300
    live_sandbox.control("POST", "config", {"resumeRuns": False})  # the engine fault
    approval = _decided(live_sandbox, trigger, reviewer)
    delivered_at = Decision.objects.get(approval=approval).delivered_at
    assert delivered_at is not None

    sync_once(client=trigger, now=delivered_at + timedelta(seconds=299))
    approval.refresh_from_db()
    assert approval.run_status == "WAITING" and approval.run_stuck_at is None

    raised.clear()
    sync_once(client=trigger, now=delivered_at + timedelta(seconds=301))
    approval.refresh_from_db()
    assert approval.run_is_stuck
    assert [e.kind for e in raised if e.approval_id == approval.pk] == ["changed"]
    assert list(stuck_runs(Approval.objects.all())) == [approval]
    client.force_login(admin_user)
    admin_list = client.get("/admin/approvals/approval/").content.decode()
    assert "Run not resumed (1)" in admin_list
    page = client.get(f"/approvals/{approval.token_id}/").content.decode()
    assert "the run has not resumed" in page

    live_sandbox.control("POST", "config", {"resumeRuns": True})
    live_sandbox.control("POST", "clock", {"advanceSeconds": 0.1})
    sync_once(client=trigger, now=timezone.now())
    approval.refresh_from_db()
    assert not approval.run_is_stuck and approval.run_resumed_at is not None
    assert (
        "the run has not resumed"
        not in client.get(f"/approvals/{approval.token_id}/").content.decode()
    )
