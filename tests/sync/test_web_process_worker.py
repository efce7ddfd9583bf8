"""With SYNC_IN_WEB_PROCESS the ASGI app runs the sync worker from start-up to shutdown."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from approvals.models import Approval
from approvals_site.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def _lifespan(events: list[str], messages: asyncio.Queue[dict[str, Any]]) -> None:
    async def receive() -> dict[str, Any]:
        return await messages.get()

    async def send(message: dict[str, Any]) -> None:
        events.append(message["type"])

    await application({"type": "lifespan"}, receive, send)


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "approvals-sync-worker"]


async def test_the_web_process_fills_the_read_model_and_stops_at_shutdown(
    live_sandbox: Any, settings: Any
):
    settings.SYNC_IN_WEB_PROCESS = True
    settings.SYNC_INTERVAL_SECONDS = 0.2
    ids = await asyncio.to_thread(live_sandbox.start_run)
    events: list[str] = []
    messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    server = asyncio.create_task(_lifespan(events, messages))
    await messages.put({"type": "lifespan.startup"})

    exists = sync_to_async(Approval.objects.filter(token_id=ids["tokenId"]).exists)
    async with asyncio.timeout(15):
        while not await exists():
            await asyncio.sleep(0.02)
    assert _workers()
    await messages.put({"type": "lifespan.shutdown"})
    async with asyncio.timeout(15):
        await server

    await sync_to_async(connections.close_all)()  # the one ``exists`` above opened
    assert events == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert not _workers()


async def test_without_the_setting_the_web_process_runs_no_worker(settings: Any):
    settings.SYNC_IN_WEB_PROCESS = False
    events: list[str] = []
    messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    server = asyncio.create_task(_lifespan(events, messages))
    await messages.put({"type": "lifespan.startup"})
    await messages.put({"type": "lifespan.shutdown"})
    async with asyncio.timeout(15):
        await server

    assert events == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert not _workers()
