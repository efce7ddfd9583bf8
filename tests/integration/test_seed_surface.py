"""The seed's own calls (docs/seed.md), end to end, against the sandbox."""

from __future__ import annotations

from typing import Any

from approvals.trigger import TriggerClient
from tests.waiting import wait_until

from .conftest import RunningSandbox


def _final_output(trigger: TriggerClient, run_id: str) -> Any:
    run = wait_until(lambda: (r := trigger.runs.retrieve(run_id)).status == "COMPLETED" and r)
    return run.output


def test_the_seed_approval_flow_with_delayed_runs(delayed_sandbox: RunningSandbox) -> None:
    sandbox = delayed_sandbox
    approve = sandbox.start_run(description="Approve me")
    reject = sandbox.start_run(description="Reject me")
    with TriggerClient(secret_key=sandbox.secret_key, base_url=sandbox.url) as trigger:
        # 1. List the runs waiting for approval, exactly as the seed does.
        waiting = list(trigger.runs.list(status=["DELAYED"], tags=["needs-approval"]))
        assert {r.id for r in waiting} == {approve["runId"], reject["runId"]}

        # 2. For each run, read its wait tokens from the stream.
        tokens = {
            run.id: trigger.runs.fetch_stream(run.id, "wait-tokens").tokens for run in waiting
        }
        assert tokens[approve["runId"]][0]["id"] == approve["tokenId"]
        assert tokens[reject["runId"]][0]["description"] == "Reject me"

        # 3. Approve one and reject the other through the seed's cache.set.
        trigger.cache.set(
            f"token:{approve['tokenId']}:status",
            {
                "status": "completed",
                "payload": {"approved": True, "approvedBy": "a@example.com", "comments": "ok"},
            },
        )
        trigger.cache.set(
            f"token:{reject['tokenId']}:status", {"status": "failed", "error": "Too risky"}
        )

        approved = _final_output(trigger, approve["runId"])
        rejected = _final_output(trigger, reject["runId"])
    assert approved["decision"]["approved"] is True
    assert approved["decision"]["approvedBy"] == "a@example.com"
    assert rejected["decision"]["approved"] is False
    assert rejected["decision"]["reason"] == "Too risky"
