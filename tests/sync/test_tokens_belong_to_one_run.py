"""An approval only ever joins a token to the run its ``run:`` tag names.

A hostile task B can announce task A's token in its own metadata ("Publish the Q3 blog post"
over A's "Grant root on prod-database"). A reviewer would approve what they read while A
resumes. Every path (realtime, single-run updates, reconcile) ignores such an announcement.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from approvals.models import Approval
from approvals.sync import apply_run_change, sync_once
from approvals.trigger import TriggerClient

from .conftest import sandbox_run


def _announce_token_of_other_run(
    live_sandbox: Any, *, hostile: dict[str, str], victim_token: str
) -> None:
    run = sandbox_run(live_sandbox, hostile["runId"])
    record = {
        "id": victim_token,
        "description": "Publish the Q3 blog post",
        "requestedBy": "alice@example.com",
    }
    live_sandbox.app.world.update_run(
        run.id, metadata={**run.metadata, "waitTokens": [*run.metadata["waitTokens"], record]}
    )


def test_a_run_announcing_another_runs_token_does_not_get_it(
    db: None, live_sandbox: Any, trigger: TriggerClient, caplog: pytest.LogCaptureFixture
) -> None:
    hostile = live_sandbox.start_run(task="publish-article", description="Publish Q3")
    sync_once(client=trigger)
    victim = live_sandbox.start_run(
        task="grant-access",
        description="Grant mallory ROOT on prod-database",
        requestedBy="mallory@example.com",
    )
    _announce_token_of_other_run(live_sandbox, hostile=hostile, victim_token=victim["tokenId"])

    with caplog.at_level(logging.WARNING, "approvals.sync"):
        change = apply_run_change(run=trigger.runs.retrieve(hostile["runId"]), client=trigger)

    assert change.created == 0
    assert not Approval.objects.filter(token_id=victim["tokenId"]).exists()
    assert f"announces token {victim['tokenId']}, which belongs to run {victim['runId']}" in (
        caplog.text
    )

    sync_once(client=trigger)
    joined = Approval.objects.get(token_id=victim["tokenId"])
    assert joined.run_id == victim["runId"]
    assert joined.description == "Grant mallory ROOT on prod-database"
    assert joined.requested_by == "mallory@example.com"


def test_the_reconcile_takes_the_announcement_from_the_tagged_run_only(
    db: None, live_sandbox: Any, trigger: TriggerClient
) -> None:
    hostile = live_sandbox.start_run(task="publish-article", description="Publish Q3")
    victim = live_sandbox.start_run(task="grant-access", description="Grant ROOT")
    _announce_token_of_other_run(live_sandbox, hostile=hostile, victim_token=victim["tokenId"])

    sync_once(client=trigger)

    joined = Approval.objects.get(token_id=victim["tokenId"])
    assert (joined.run_id, joined.description) == (victim["runId"], "Grant ROOT")


@pytest.mark.parametrize("extra_tags", [["run:run_someoneelse"], []])
def test_a_token_tagged_with_two_runs_or_none_is_not_shown(
    db: None, live_sandbox: Any, trigger: TriggerClient, extra_tags: list[str]
) -> None:
    ids = live_sandbox.start_run(description="ambiguous")
    token = live_sandbox.app.world.find_token(ids["tokenId"])
    if extra_tags:
        token.tags.extend(extra_tags)
    else:
        token.tags[:] = [tag for tag in token.tags if not tag.startswith("run:")]

    sync_once(client=trigger)
    apply_run_change(run=trigger.runs.retrieve(ids["runId"]), client=trigger)

    assert not Approval.objects.filter(token_id=ids["tokenId"]).exists()
