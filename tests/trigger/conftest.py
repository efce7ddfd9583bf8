"""Fixtures for the trigger's focused tests: a scripted loopback server and fast retries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from approvals.trigger import AsyncTriggerClient, RetryPolicy, TriggerClient

from .scripted_server import ScriptedServer

SECRET = "tr_dev_S3cr3tK3yABCDEFGHIJKLMNOP"


class Sleeps:
    """A retry sleep that records the delays it is asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer().start()
    yield scripted
    scripted.stop()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def policy(sleeps: Sleeps) -> RetryPolicy:
    return RetryPolicy(min_delay=0.001, max_delay=0.01, sleep=sleeps)


@pytest.fixture
def trigger(server: ScriptedServer, policy: RetryPolicy) -> Iterator[TriggerClient]:
    with TriggerClient(secret_key=SECRET, base_url=server.url, timeout=2.0, retry=policy) as c:
        yield c


@pytest.fixture
async def aclient(server: ScriptedServer, policy: RetryPolicy) -> AsyncIterator[AsyncTriggerClient]:
    async with AsyncTriggerClient(
        secret_key=SECRET, base_url=server.url, timeout=2.0, retry=policy
    ) as c:
        yield c
