"""A reconcile pass brings new sandbox runs into the read model."""

from __future__ import annotations

from typing import Any

from approvals.models import Approval, ApprovalState
from approvals.sync import sync_once
from approvals.trigger import TriggerClient


def test_a_new_run_appears_after_one_pass(db: None, live_sandbox: Any, trigger: TriggerClient):
    ids = live_sandbox.start_run(
        task="approve-invoice",
        payload={"invoiceId": "INV-7", "amount": 1200},
        description="Pay invoice INV-7",
        requestedBy="alice@example.com",
        tags=["finance"],
        schema={"type": "object", "properties": {"notes": {"type": "string"}}},
        context={"ciUrl": "https://ci.example.com/1"},
    )

    report = sync_once(client=trigger)

    assert report.ok and report.created == 1
    approval = Approval.objects.get(token_id=ids["tokenId"])
    assert approval.run_id == ids["runId"]
    assert approval.state == ApprovalState.PENDING
    assert approval.task_identifier == "approve-invoice"
    assert approval.run_status == "WAITING"
    assert approval.description == "Pay invoice INV-7"
    assert approval.requested_by == "alice@example.com"
    assert approval.payload == {"invoiceId": "INV-7", "amount": 1200}
    assert approval.context == {"ciUrl": "https://ci.example.com/1"}
    assert approval.form_schema["properties"]["notes"] == {"type": "string"}
    assert "finance" in approval.run_tags and "needs-approval" in approval.run_tags
    assert f"run:{ids['runId']}" in approval.token_tags
    assert approval.expires_at is not None and approval.expires_at > approval.created_at
    assert approval.run_updated_at is not None


def test_search_text_holds_description_ids_payload_and_task(
    db: None, live_sandbox: Any, trigger: TriggerClient
):
    ids = live_sandbox.start_run(description="Ship The Thing", payload={"service": "Billing-API"})

    sync_once(client=trigger)

    text = Approval.objects.get(token_id=ids["tokenId"]).search_text
    assert "ship the thing" in text
    assert ids["runId"].lower() in text and ids["tokenId"].lower() in text
    assert "billing-api" in text and "deploy-production" in text


def test_many_runs_are_read_page_by_page(db: None, live_sandbox: Any, trigger: TriggerClient):
    started = [live_sandbox.start_run(description=f"run {n}") for n in range(105)]

    report = sync_once(client=trigger)

    assert report.created == 105
    assert Approval.objects.filter(state=ApprovalState.PENDING).count() == 105
    assert {a.token_id for a in Approval.objects.all()} == {s["tokenId"] for s in started}
    requests = live_sandbox.stats()["requests"]
    assert requests["GET /api/v1/runs"] == 2  # 100 + 5
    assert requests["GET /api/v1/waitpoints/tokens"] == 2


def test_a_run_without_the_approval_tag_is_ignored(
    db: None, live_sandbox: Any, trigger: TriggerClient, settings: Any
):
    live_sandbox.start_run()
    settings.APPROVAL_TAG = "some-other-tag"

    report = sync_once(client=trigger)

    assert report.ok and report.created == 0
    assert not Approval.objects.exists()
