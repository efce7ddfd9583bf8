"""Change events become occurrences: the notifications' subscriber (approvals.events).

Runs after commit in whichever process made the change, and only writes a row (one insert,
its unique key making a repeat a no-op): who hears of it, and the sending, are the worker's
(approvals.notify.fanout, approvals.notify.outbox). A process that dies between the commit and
this leaves the change unannounced; the worker's sweep finds it (approvals.notify.sweep).
"""

from __future__ import annotations

import logging
import threading

from approvals.events import ApprovalEvent, Kind
from approvals.models import Approval, ApprovalState
from approvals.notify.models import Event, Occurrence

logger = logging.getLogger("approvals.notify")

_BY_KIND = {Kind.APPEARED: Event.PENDING, Kind.DECIDED: Event.DECIDED}


def record(approval_id: int, event: str) -> None:
    """Note that ``event`` happened to the approval (a no-op when it already had), and wake
    a worker running in this process so it fans it out now rather than at its next poll."""
    Occurrence.objects.bulk_create(
        [Occurrence(approval_id=approval_id, event=event)], ignore_conflicts=True
    )
    wake.set()


# Set whenever this process records an occurrence (approvals.notify.outbox waits on it).
wake = threading.Event()


def on_event(event: ApprovalEvent) -> None:
    """The subscriber: new, decided and expired approvals are worth telling someone."""
    name = _BY_KIND.get(event.kind)
    if name is None and event.kind == Kind.LEFT:
        state = (
            Approval.objects.filter(pk=event.approval_id).values_list("state", flat=True).first()
        )
        if state == ApprovalState.TIMED_OUT:
            name = Event.EXPIRED
    if name is not None:
        record(event.approval_id, name)
