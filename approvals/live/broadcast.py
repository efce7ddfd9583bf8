"""The websocket broadcaster: the change events' first subscriber.

Each event goes to the queue's group and to its approval's group as ids and a kind; the
consumers render what each user sees. Producers never wait for this: the event is handed to
an event loop and ``broadcast`` returns at once, so a slow or unreachable Redis never holds up
a decision, a sync pass or a page.

Which loop: the in-memory channel layer (``make run``) keeps plain asyncio queues that are
safe only on the loop its consumers run on, so in a web process the messages are sent from
the server's loop, attached at ASGI start-up (approvals_site.asgi). A process with no server
(the ``sync_approvals`` worker, commands) sends from a loop on a thread of its own; with
channels-redis that reaches every web process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from typing import Any

from channels.layers import get_channel_layer

from approvals.events import ApprovalEvent
from approvals.live import groups

logger = logging.getLogger(__name__)

MESSAGE_TYPE = "approval.event"


class _Sender:
    """Sends messages in the order they were submitted, from one event loop."""

    def __init__(self) -> None:
        self._attached: asyncio.AbstractEventLoop | None = None
        self._own: asyncio.AbstractEventLoop | None = None
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self._mutex = threading.Lock()

    def attach(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Send from ``loop`` (the ASGI server's) from now on; ``None`` detaches."""
        self._attached = loop

    def attach_if_unattached(self, loop: asyncio.AbstractEventLoop) -> None:
        attached = self._attached
        if attached is None or attached.is_closed():
            self._attached = loop

    def loop(self) -> asyncio.AbstractEventLoop:
        attached = self._attached
        if attached is not None and not attached.is_closed():
            return attached
        with self._mutex:
            if self._own is None or self._own.is_closed():
                self._own = asyncio.new_event_loop()
                threading.Thread(
                    target=self._own.run_forever, name="approvals-broadcast", daemon=True
                ).start()
            return self._own

    def submit(self, groups_: list[str], message: dict[str, Any]) -> Future[None]:
        return asyncio.run_coroutine_threadsafe(self._send(groups_, message), self.loop())

    async def _send(self, groups_: list[str], message: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        lock = self._locks.setdefault(loop, asyncio.Lock())  # FIFO: keeps events in order
        async with lock:
            layer = get_channel_layer()
            if layer is None:
                return
            for group in groups_:
                try:
                    # The group rides along: each process's hub hands the message to the
                    # sockets listening to that group (approvals.live.hub).
                    await layer.group_send(group, {**message, "group": group})
                except Exception as exc:  # Redis down: browsers catch up when they reconnect
                    logger.warning(
                        "live: could not broadcast %s to %s: %s: %s",
                        message.get("kind"), group, type(exc).__name__, str(exc)[:200],
                    )  # fmt: skip


sender = _Sender()


def broadcast(event: ApprovalEvent) -> Future[None]:
    """Send ``event`` to the queue's group and to its approval's group (returns at once)."""
    message = {"type": MESSAGE_TYPE, **event.as_message()}
    return sender.submit([groups.QUEUE, groups.approval(event.approval_id)], message)


# A message to a user's sockets, not an approval event: "close, this user signed out".
SIGNED_OUT_KIND = "signed-out"


def sign_out(user_id: int) -> Future[None]:
    """Close every open socket of ``user_id``, in every process (approvals.live.consumers)."""
    return sender.submit([groups.user(user_id)], {"type": MESSAGE_TYPE, "kind": SIGNED_OUT_KIND})
