"""One channel-layer member per process: the hub receives each broadcast once and hands it
to the sockets of this process that listen to its group.

Channels' usual shape, one channel-layer member per socket, costs per socket and per event:
a copy of the message, a layer receive (the in-memory layer scans every channel and group on
each one, so an event costs the square of the socket count), and a thread hop to close old
database connections before each handler. With a thousand open queues that took a single
event past a second (docs/live-updates.md, "Many processes"). Here a process joins each
group once; its sockets each have an in-process inbox, drained in order by a task of their
own, so one slow socket delays nobody else.

Membership of a group expires in the channel layer after a day (``group_expiry``): the hub
joins its groups again every hour, and after any failure to receive (Redis restarted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import weakref
from collections import defaultdict
from typing import Any, Protocol

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

REJOIN_SECONDS = 3600.0
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)


class Listener(Protocol):
    inbox: asyncio.Queue[dict[str, Any]]


class Hub:
    def __init__(self) -> None:
        self.members: dict[str, set[Listener]] = defaultdict(set)
        self.channel: str | None = None
        self._pump: asyncio.Task[None] | None = None
        self._rejoin: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def join(self, group: str, listener: Listener) -> None:
        async with self._lock:
            layer = get_channel_layer()
            if layer is None:
                return
            if self.channel is None:
                # A plain channel of the process's own, not a "specific" one from
                # new_channel(): channels-redis serves those through a shared receive
                # buffer, from which this lone long-lived receive sometimes got nothing.
                self.channel = f"approvals-hub.{uuid.uuid4().hex}"
                self._pump = asyncio.create_task(self._receive_forever(), name="live-hub")
                self._rejoin = asyncio.create_task(self._rejoin_forever(), name="live-rejoin")
            first = not self.members[group]
            self.members[group].add(listener)
            if first:
                await layer.group_add(group, self.channel)

    async def leave(self, group: str, listener: Listener) -> None:
        async with self._lock:
            listeners = self.members.get(group)
            if listeners is None:
                return
            listeners.discard(listener)
            if listeners:
                return
            del self.members[group]
            layer = get_channel_layer()
            if layer is not None and self.channel is not None:
                with contextlib.suppress(Exception):  # it expires anyway
                    await layer.group_discard(group, self.channel)

    def deliver(self, message: dict[str, Any]) -> int:
        """Put ``message`` in the inbox of every local listener of its group."""
        listeners = list(self.members.get(str(message.get("group", "")), ()))
        for listener in listeners:
            with contextlib.suppress(asyncio.QueueFull):
                listener.inbox.put_nowait(message)
        return len(listeners)

    async def _receive_forever(self) -> None:
        layer = get_channel_layer()
        assert layer is not None and self.channel is not None
        failures = 0
        while True:
            try:
                message = await layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                logger.warning(
                    "live: the hub could not receive (%s: %s); again in %.1f s",
                    type(exc).__name__, str(exc)[:200], delay,
                )  # fmt: skip
                await asyncio.sleep(delay)
                await self._join_all()  # the layer may have lost our membership
                continue
            failures = 0
            self.deliver(message)

    async def _rejoin_forever(self) -> None:
        while True:
            await asyncio.sleep(REJOIN_SECONDS)
            await self._join_all()

    async def _join_all(self) -> None:
        layer = get_channel_layer()
        if layer is None or self.channel is None:
            return
        for group in list(self.members):
            try:
                await layer.group_add(group, self.channel)
            except Exception as exc:
                logger.warning("live: could not join %s again: %s", group, type(exc).__name__)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This event loop's hub (a server has one loop; tests have one per test)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found
