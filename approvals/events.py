"""One source of change: every change of an approval raises one event, after commit.

The reconcile, the realtime follower, the decision service and the delivery retries call
``approval_changed`` where they change an approval; nothing else announces changes
(docs/live-updates.md, "Events"). An event carries ids and a kind, never HTML: each
subscriber (the websocket broadcaster today, notifications later) reads what its audience
may see from the database.

Events are raised with ``transaction.on_commit``: a change that is rolled back announces
nothing, and a subscriber that reads the row sees the committed state. Outside a transaction
the event goes out at once. A failing subscriber is logged and never reaches the code that
made the change: a recorded decision must not fail because a browser could not be told.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial

from django.db import transaction
from django.utils import timezone

from approvals import changes

logger = logging.getLogger(__name__)


class Kind(StrEnum):
    """What happened to the approval."""

    APPEARED = "appeared"  # new in the queue (or waiting again)
    CHANGED = "changed"  # run status, expiry, announcement, run output, stuck flag
    VOTED = "voted"  # a reviewer's vote that did not settle it (N of M)
    DECIDED = "decided"  # the decision was recorded
    DELIVERY = "delivery"  # the decision's delivery state moved (or an attempt failed)
    LEFT = "left"  # left the queue: completed elsewhere, timed out, run ended, gone
    PRESENCE = "presence"  # who is viewing it changed (not a state change; never notified)


# Kinds that take an approval out of the pending queue.
LEAVING = frozenset({Kind.DECIDED, Kind.LEFT})


@dataclass(frozen=True)
class ApprovalEvent:
    kind: Kind
    approval_id: int
    token_id: str
    # Unique per event: subscribers in one process render each event once for everyone.
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: float = field(default_factory=lambda: timezone.now().timestamp())

    def as_message(self) -> dict[str, object]:
        """The event as a channel-layer message body (plain JSON-able values)."""
        return {
            "kind": str(self.kind),
            "approval_id": self.approval_id,
            "token_id": self.token_id,
            "id": self.id,
            "at": self.at,
        }

    @classmethod
    def from_message(cls, message: dict[str, object]) -> ApprovalEvent:
        return cls(
            kind=Kind(str(message["kind"])),
            approval_id=int(str(message["approval_id"])),
            token_id=str(message["token_id"]),
            id=str(message["id"]),
            at=float(str(message["at"])),
        )


Subscriber = Callable[[ApprovalEvent], object]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> None:
    """Call ``subscriber`` with every event from now on (once, however often subscribed)."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def unsubscribe(subscriber: Subscriber) -> None:
    if subscriber in _subscribers:
        _subscribers.remove(subscriber)


def approval_changed(
    kind: Kind, *, approval_id: int, token_id: str, using: str | None = None
) -> None:
    """Announce a change of one approval once the current transaction commits."""
    event = ApprovalEvent(kind=kind, approval_id=approval_id, token_id=token_id)
    transaction.on_commit(partial(publish, event), using=using)
    # Kept queue pages are served only while nothing they show changed (approvals.changes).
    changes.noted(using)


def publish(event: ApprovalEvent) -> None:
    """Hand ``event`` to every subscriber now. Never raises."""
    for subscriber in list(_subscribers):
        try:
            subscriber(event)
        except Exception:
            logger.exception("event %s %s: a subscriber failed", event.kind, event.approval_id)
