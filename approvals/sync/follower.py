"""Following the realtime tag feed, so the read model moves within milliseconds (docs/design.md,
"The sync worker").

The feed (``/realtime/v1/runs?tags=needs-approval``, Electric long-poll) yields a run each
time one carrying the tag changes. Each is handed to ``sync.apply_run_change`` in a thread
(the ORM is synchronous). The client reconnects and restarts the shape on ``must-refetch``;
this loop only survives what the client gives up on, with backoff. The reconcile pass stays
the safety net: the feed covers 24 h of runs at most and can miss a change while down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connections

from approvals.sync.reconcile import SYNC_RETRY, RunChange, apply_run_change
from approvals.trigger import RetryPolicy, Run, TriggerClient
from approvals.upstream import async_trigger_client, trigger_client

logger = logging.getLogger("approvals.realtime")

# Pacing of this loop's own restarts (after the client gave up): doubling from 0.5 s to 30 s.
RESTART_BACKOFF = RetryPolicy(min_delay=0.5, max_delay=30.0, factor=2.0)
# The feed itself retries forever (as the SDK does); this only paces reconnect attempts.
FEED_RETRY = RetryPolicy(min_delay=0.5, max_delay=15.0)


def _apply(run: Run, client: TriggerClient) -> RunChange:
    close_old_connections()
    return apply_run_change(run=run, client=client)


async def follow_tag_feed(
    *,
    stop: asyncio.Event,
    tag: str | None = None,
    on_change: Callable[[Run, RunChange], None] | None = None,
) -> None:
    """Follow the tag feed until ``stop`` is set, updating approvals as runs change."""
    tag = str(tag or settings.APPROVAL_TAG)
    # A thread of the follower's own for the ORM, not asgiref's shared "thread-sensitive"
    # one: in the web process that thread also serves every websocket's database work, and a
    # run being applied (upstream calls included) held new-approval pushes back by 200 ms.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="approvals-realtime-orm")
    loop = asyncio.get_running_loop()

    async def apply(run: Run, client: TriggerClient) -> RunChange:
        return await loop.run_in_executor(executor, _apply, run, client)

    try:
        await _follow(stop=stop, tag=tag, apply=apply, on_change=on_change)
    finally:
        # Close the connection of the thread the ORM ran on, there.
        await asyncio.shield(loop.run_in_executor(executor, connections.close_all))
        executor.shutdown(wait=False)


async def _apply_one(
    apply: Callable[[Run, TriggerClient], Awaitable[RunChange]], run: Run, client: TriggerClient
) -> RunChange | None:
    """One run's update; a run that cannot be applied is logged by id and the feed goes on.
    Restarting the feed instead would meet the same run again and stall every other one
    (docs/hardening.md, "Poison records"); the reconcile retries it."""
    try:
        return await apply(run, client)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        logger.warning(
            "realtime: skipping run %.120r: %s: %s", run.id, type(exc).__name__, str(exc)[:200]
        )
        return None


async def _follow(
    *,
    stop: asyncio.Event,
    tag: str,
    apply: Callable[[Run, TriggerClient], Awaitable[RunChange]],
    on_change: Callable[[Run, RunChange], None] | None,
) -> None:
    failures = 0
    while not stop.is_set():
        try:
            async with async_trigger_client(retry=FEED_RETRY) as feed_client:
                with trigger_client(retry=SYNC_RETRY) as client:
                    feed = feed_client.runs.subscribe_to_runs_with_tag(tag)
                    try:
                        async for run in feed:
                            change = await _apply_one(apply, run, client)
                            failures = 0
                            if change is not None and on_change is not None:
                                on_change(run, change)
                            if stop.is_set():
                                return
                    finally:
                        await feed.aclose()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures += 1
            delay = RESTART_BACKOFF.backoff(failures)
            logger.warning(
                "realtime: feed failed (%s: %s); retrying in %.1f s",
                type(exc).__name__,
                str(exc)[:200],
                delay,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)


class RealtimeFollower:
    """``follow_tag_feed`` on its own thread and event loop, stoppable from any thread."""

    def __init__(self, *, on_change: Callable[[Run, RunChange], None] | None = None) -> None:
        self.on_change = on_change
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="approvals-realtime", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=5)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        task = asyncio.create_task(follow_tag_feed(stop=self._stop, on_change=self.on_change))
        stopper = asyncio.create_task(self._stop.wait())
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for pending in (task, stopper):
            pending.cancel()
        await asyncio.gather(task, stopper, return_exceptions=True)

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
