"""A task's Markdown ``summary`` (README, "The approval contract") reaches the read model: as
announced, capped, kept current when the announcement changes, and searchable."""

from __future__ import annotations

from typing import Any

import pytest

from approvals.limits import SUMMARY_MAX
from approvals.models import Approval
from approvals.sync import sync_once
from approvals.sync.follower import RealtimeFollower
from approvals.trigger import TriggerClient
from tests.waiting import wait_until

from .conftest import sandbox_run

SUMMARY = "Ships **billing v2**.\n\n- no migrations\n- [CI](https://ci.example.com/7)"


def _announce(live_sandbox: Any, run_id: str, **record: Any) -> None:
    """Rewrite the run's announcement of its token, as a task's ``metadata.set`` would."""
    run = sandbox_run(live_sandbox, run_id)
    announced = [dict(run.metadata["waitTokens"][0], **record)]
    live_sandbox.app.world.update_run(run.id, metadata={**run.metadata, "waitTokens": announced})


def test_an_announced_summary_lands_in_the_approval(
    db: None, live_sandbox: Any, trigger: TriggerClient
) -> None:
    ids = live_sandbox.start_run(description="with a summary", summary=SUMMARY)
    plain = live_sandbox.start_run(description="without one")

    report = sync_once(client=trigger)

    assert report.created == 2
    approval = Approval.objects.get(token_id=ids["tokenId"])
    assert approval.summary == SUMMARY
    assert "ships **billing v2**" in approval.search_text
    assert Approval.objects.get(token_id=plain["tokenId"]).summary == ""


def test_a_changed_summary_is_picked_up_by_the_next_pass(
    db: None, live_sandbox: Any, trigger: TriggerClient
) -> None:
    ids = live_sandbox.start_run()
    _announce(live_sandbox, ids["runId"], summary="first draft")
    sync_once(client=trigger)

    _announce(live_sandbox, ids["runId"], summary="*second* draft")
    report = sync_once(client=trigger)

    assert report.updated == 1
    assert Approval.objects.get(token_id=ids["tokenId"]).summary == "*second* draft"


def test_a_huge_summary_is_capped_and_cleaned_and_a_non_text_one_ignored(
    db: None, live_sandbox: Any, trigger: TriggerClient
) -> None:
    huge = live_sandbox.start_run()
    _announce(live_sandbox, huge["runId"], summary="\n\n    code\x07\x1b\n" + "y" * 50_000)
    odd = live_sandbox.start_run()
    _announce(live_sandbox, odd["runId"], summary={"markdown": "not a string"})

    sync_once(client=trigger)

    summary = Approval.objects.get(token_id=huge["tokenId"]).summary
    assert len(summary) <= SUMMARY_MAX
    # Leading blank lines go; the indentation that makes a Markdown code block stays.
    assert summary.startswith("    code\ny")
    assert Approval.objects.get(token_id=odd["tokenId"]).summary == ""
    assert len(Approval.objects.get(token_id=huge["tokenId"]).search_text) <= 10_000


@pytest.mark.django_db(transaction=True)
def test_the_realtime_follower_keeps_the_summary_current(
    live_sandbox: Any, follower: RealtimeFollower
) -> None:
    ids = live_sandbox.start_run()
    wait_until(lambda: Approval.objects.filter(token_id=ids["tokenId"]).first())

    _announce(live_sandbox, ids["runId"], summary="added **later**")

    wait_until(lambda: Approval.objects.get(token_id=ids["tokenId"]).summary == "added **later**")
