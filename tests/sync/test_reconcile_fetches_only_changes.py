"""Details (the run's payload) are fetched only for approvals that are new or whose run changed."""

from __future__ import annotations

from typing import Any

from approvals.models import Approval
from approvals.sync import sync_once
from approvals.trigger import TriggerClient

from .conftest import retrieves, sandbox_run


def test_a_second_pass_with_nothing_changed_fetches_no_details(
    db: None, live_sandbox: Any, trigger: TriggerClient
):
    for n in range(3):
        live_sandbox.start_run(description=f"run {n}")
    first = sync_once(client=trigger)
    assert first.created == 3
    before = retrieves(live_sandbox)
    assert before == 3

    second = sync_once(client=trigger)

    assert second.ok and second.unchanged == 3
    assert second.created == second.updated == 0
    assert retrieves(live_sandbox) == before
    # Two list calls and nothing else.
    assert second.upstream_calls == 2


def test_a_changed_run_is_fetched_again(db: None, live_sandbox: Any, trigger: TriggerClient):
    changed = live_sandbox.start_run(description="before")
    live_sandbox.start_run(description="untouched")
    sync_once(client=trigger)
    before = retrieves(live_sandbox)
    run = sandbox_run(live_sandbox, changed["runId"])
    announced = [dict(run.metadata["waitTokens"][0], description="after, with more detail")]
    live_sandbox.app.world.update_run(run.id, metadata={**run.metadata, "waitTokens": announced})

    report = sync_once(client=trigger)

    assert report.updated == 1 and report.unchanged == 1
    assert retrieves(live_sandbox) == before + 1
    approval = Approval.objects.get(token_id=changed["tokenId"])
    assert approval.description == "after, with more detail"
    assert "after, with more detail" in approval.search_text
