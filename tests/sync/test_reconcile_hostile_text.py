"""Hostile upstream text is stored capped and cleaned, and otherwise intact."""

from __future__ import annotations

from typing import Any

from approvals.models import Approval
from approvals.sync import DESCRIPTION_MAX, REQUESTED_BY_MAX, sync_once
from approvals.trigger import TriggerClient

from .conftest import sandbox_run


def test_a_huge_description_with_control_characters_is_capped_and_cleaned(
    db: None, live_sandbox: Any, trigger: TriggerClient
):
    description = (
        "<script>alert(1)</script>\x00\x07 line one\n\ttabbed \u202e ünïcødé 🚀 " + "x" * 50_000
    )
    ids = live_sandbox.start_run(
        description=description,
        requestedBy="evil\x1b[31m@example.com" + "y" * 1_000,
        payload={"html": "<img src=x onerror=alert(1)>", "nul": "a\x00b", "emoji": "🚀"},
        tags=["<b>tag</b>"],
    )

    report = sync_once(client=trigger)

    assert report.created == 1
    approval = Approval.objects.get(token_id=ids["tokenId"])
    assert len(approval.description) == DESCRIPTION_MAX
    assert approval.description.startswith(
        "<script>alert(1)</script> line one\n\ttabbed \u202e ünïcødé 🚀 x"
    )
    assert len(approval.requested_by) == REQUESTED_BY_MAX
    assert approval.requested_by.startswith("evil[31m@example.com")
    # JSON keeps its text (escaped when shown); only NUL, which PostgreSQL refuses, goes.
    assert approval.payload == {"html": "<img src=x onerror=alert(1)>", "nul": "ab", "emoji": "🚀"}
    assert "<b>tag</b>" in approval.run_tags


def test_a_huge_payload_is_stored_as_a_marked_preview(
    db: None, live_sandbox: Any, trigger: TriggerClient
):
    ids = live_sandbox.start_run(payload={"blob": "z" * 400_000})

    sync_once(client=trigger)

    approval = Approval.objects.get(token_id=ids["tokenId"])
    assert approval.payload["truncated"] is True
    assert approval.payload["size"] > 400_000
    assert len(approval.search_text) <= 10_000


def test_a_malformed_announcement_is_skipped_not_fatal(
    db: None, live_sandbox: Any, trigger: TriggerClient
):
    broken = live_sandbox.start_run(description="broken")
    fine = live_sandbox.start_run(description="fine")
    run = sandbox_run(live_sandbox, broken["runId"])
    garbage = [
        "not an object",
        {"id": 42},
        {"id": broken["tokenId"], "description": ["no"], "requestedBy": {"x": 1}, "schema": "s"},
    ]
    live_sandbox.app.world.update_run(run.id, metadata={"waitTokens": garbage})

    report = sync_once(client=trigger)

    assert report.ok and report.created == 2
    approval = Approval.objects.get(token_id=broken["tokenId"])
    assert approval.description == "Approval required"
    assert approval.requested_by == ""
    # A schema that is not an object is kept as an "altered" preview: approving is refused
    # with a reason rather than offered without the form (docs/hardening.md, "Announced forms").
    assert approval.form_schema is not None and approval.form_schema["altered"] is True
    assert Approval.objects.get(token_id=fine["tokenId"]).description == "fine"
