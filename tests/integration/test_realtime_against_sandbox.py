"""Realtime run feeds (Electric long-poll) and SSE streams, against the sandbox on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from approvals.trigger import AsyncTriggerClient, RetryPolicy, TriggerClient

from .conftest import RunningSandbox

pytestmark = pytest.mark.slow  # real servers and streams held open: seconds each

BOUND = 15.0  # seconds: every wait below is bounded by this


@pytest.fixture
async def aclient(sandbox: RunningSandbox) -> AsyncIterator[AsyncTriggerClient]:
    async with AsyncTriggerClient(
        secret_key=sandbox.secret_key,
        base_url=sandbox.url,
        timeout=30.0,
        retry=RetryPolicy(min_delay=0.001, max_delay=0.01),
    ) as c:
        yield c


async def test_tag_feed_sees_a_run_that_starts_after_the_subscription(
    sandbox: RunningSandbox, aclient: AsyncTriggerClient
) -> None:
    first = await asyncio.to_thread(sandbox.start_run, description="before")
    feed = aclient.runs.subscribe_to_runs_with_tag("needs-approval")

    async def next_run_with(predicate):  # type: ignore[no-untyped-def]
        async for run in feed:
            if predicate(run):
                return run
        raise AssertionError("feed ended")

    initial = await asyncio.wait_for(next_run_with(lambda r: r.id == first["runId"]), BOUND)
    assert initial.status == "WAITING"
    second = await asyncio.to_thread(sandbox.start_run, description="after")
    later = await asyncio.wait_for(next_run_with(lambda r: r.id == second["runId"]), BOUND)
    assert "needs-approval" in later.tags
    assert later.metadata["waitTokens"][0]["id"] == second["tokenId"]
    await feed.aclose()


async def test_single_run_feed_follows_the_run_to_completion(
    sandbox: RunningSandbox, aclient: AsyncTriggerClient
) -> None:
    ids = await asyncio.to_thread(sandbox.start_run)
    statuses: list[str] = []

    async def follow() -> None:
        async for run in aclient.runs.subscribe_to_run(ids["runId"]):
            if not statuses or statuses[-1] != run.status:
                statuses.append(run.status)
                if run.status == "WAITING":
                    await aclient.waitpoints.complete(ids["tokenId"], {"approved": True})

    await asyncio.wait_for(follow(), BOUND)
    assert statuses[0] == "WAITING"
    assert statuses[-1] == "COMPLETED"


async def test_a_forced_must_refetch_restarts_the_shape_without_losing_rows(
    sandbox: RunningSandbox, aclient: AsyncTriggerClient
) -> None:
    ids = await asyncio.to_thread(sandbox.start_run)
    seen: list[str] = []

    async def follow() -> None:
        async for run in aclient.runs.subscribe_to_runs_with_tag("needs-approval"):
            seen.append(run.status)
            if len(seen) == 1:
                await asyncio.to_thread(sandbox.control, "POST", "realtime/reset-handles")
                await aclient.waitpoints.complete(ids["tokenId"], {"approved": False})
            if run.status == "COMPLETED":
                return

    await asyncio.wait_for(follow(), BOUND)
    assert seen[0] == "WAITING" and seen[-1] == "COMPLETED"


def test_fetch_stream_reads_the_wait_tokens_announcements(
    sandbox: RunningSandbox, trigger: TriggerClient
) -> None:
    ids = sandbox.start_run(description="Ship it")
    snapshot = trigger.runs.fetch_stream(ids["runId"], "wait-tokens")
    assert [t["id"] for t in snapshot.tokens] == [ids["tokenId"]]
    assert snapshot.tokens[0]["description"] == "Ship it"
    assert snapshot.last_event_id


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_stream_resumes_after_the_last_event_id(
    sandbox: RunningSandbox, trigger: TriggerClient, version: str
) -> None:
    sandbox.control("POST", "config", {"streamVersion": version})
    ids = sandbox.start_run()
    first = trigger.runs.fetch_stream(ids["runId"], "wait-tokens")
    assert len(first.chunks) == 1
    sandbox.control(
        "POST", f"runs/{ids['runId']}/streams/wait-tokens", {"id": "extra", "description": "second"}
    )
    resumed = trigger.runs.fetch_stream(
        ids["runId"], "wait-tokens", last_event_id=first.last_event_id
    )
    assert [chunk["id"] for chunk in resumed.chunks] == ["extra"]
    everything = trigger.runs.fetch_stream(ids["runId"], "wait-tokens")
    assert len(everything.chunks) == 2
