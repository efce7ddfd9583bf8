"""Fixtures for the live updates: the change events a test raises, and a channel layer whose
messages reach sockets opened by the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from approvals import events
from approvals.events import ApprovalEvent
from approvals.live.broadcast import sender
from approvals.trigger import RetryPolicy, TriggerClient
from approvals.upstream import trigger_client


@pytest.fixture
def trigger(live_sandbox: Any) -> Iterator[TriggerClient]:
    """The dashboard's client (built from the settings) with retries that do not wait."""
    with trigger_client(retry=RetryPolicy(max_attempts=2, min_delay=0.001, max_delay=0.01)) as c:
        yield c


@pytest.fixture
def raised() -> Iterator[list[ApprovalEvent]]:
    """Every change event published while the test runs, in order."""
    seen: list[ApprovalEvent] = []
    events.subscribe(seen.append)
    try:
        yield seen
    finally:
        events.unsubscribe(seen.append)


@pytest.fixture
async def broadcasting() -> AsyncIterator[None]:
    """Broadcasts sent from the test's event loop, where its sockets are (as the server's
    loop is attached at ASGI start-up)."""
    sender.attach(asyncio.get_running_loop())
    try:
        yield
    finally:
        sender.attach(None)
