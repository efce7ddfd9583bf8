"""Fixtures for the read model's upkeep: a fast-failing trigger on the loopback sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from approvals.sync.follower import RealtimeFollower
from approvals.trigger import RetryPolicy, TriggerClient
from approvals.upstream import trigger_client


@pytest.fixture
def trigger(live_sandbox: Any) -> Iterator[TriggerClient]:
    """The dashboard's trigger (built from the settings) with retries that do not wait."""
    with trigger_client(retry=RetryPolicy(max_attempts=2, min_delay=0.001, max_delay=0.01)) as c:
        yield c


def retrieves(live_sandbox: Any) -> int:
    """How many times the run details were fetched so far."""
    return int(live_sandbox.stats()["requests"].get("GET /api/v3/runs/{runId}", 0))


def sandbox_run(live_sandbox: Any, run_id: str) -> Any:
    run = live_sandbox.app.world.find_run(run_id)
    assert run is not None
    return run


@pytest.fixture
def follower(live_sandbox: Any) -> Iterator[RealtimeFollower]:
    """The realtime follower on its own thread, for one test; it must stop cleanly."""
    follower = RealtimeFollower()
    follower.start()
    yield follower
    follower.stop()
    assert not follower.alive
