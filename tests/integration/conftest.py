"""A real sandbox server on loopback for the trigger's end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from approvals.trigger import RetryPolicy, TriggerClient
from tests.sandbox_server import RunningSandbox, serve_sandbox

__all__ = ["RunningSandbox"]


@pytest.fixture(scope="module")
def _sandbox_server() -> Iterator[RunningSandbox]:
    yield from serve_sandbox(scenario="empty", seed=7)


@pytest.fixture
def sandbox(_sandbox_server: RunningSandbox) -> RunningSandbox:
    """The module's sandbox, reset to an empty world with no faults for each test."""
    _sandbox_server.control("POST", "reset")
    return _sandbox_server


@pytest.fixture
def delayed_sandbox() -> Iterator[RunningSandbox]:
    """A sandbox that reports waiting runs as DELAYED, as the seed assumed."""
    yield from serve_sandbox(scenario="empty", seed=3, status_mode="delayed")


class RecordingSleep:
    """A retry sleep that records the delays asked for and runs a hook instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.on_sleep: Any = None

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep(len(self.delays))


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def trigger(sandbox: RunningSandbox, sleeps: RecordingSleep) -> Iterator[TriggerClient]:
    with TriggerClient(
        secret_key=sandbox.secret_key,
        base_url=sandbox.url,
        timeout=5.0,
        retry=RetryPolicy(min_delay=0.001, max_delay=0.01, sleep=sleeps),
    ) as c:
        yield c
