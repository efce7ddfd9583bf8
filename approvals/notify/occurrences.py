"""Change events become occurrences: the notifications' subscriber (approvals.events).

Runs after commit in whichever process made the change, and only writes a row (one insert,
its unique key making a repeat a no-op): who hears of it, and the sending, are the worker's
(approvals.notify.fanout, approvals.notify.outbox). A process that dies between the commit and
this leaves the change unannounced; the worker's sweep finds it (approvals.notify.sweep).
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.utils import timezone

from approvals.events import ApprovalEvent, Kind
from approvals.models import Approval, ApprovalState, SyncMark
from approvals.notify.models import Event, Occurrence

_BY_KIND = {Kind.APPEARED: Event.PENDING, Kind.DECIDED: Event.DECIDED}


def record(approval_id: int, event: str, *, silent: bool = False) -> None:
    """Note that ``event`` happened to the approval (a no-op when it already had), and wake
    a worker running in this process so it fans it out now rather than at its next poll.
    ``silent``: noted as handled, so nobody is told (and the sweep does not tell them later)."""
    occurrence = Occurrence(approval_id=approval_id, event=event)
    if silent:
        occurrence.fanned_out_at = timezone.now()
    Occurrence.objects.bulk_create([occurrence], ignore_conflicts=True)
    if not silent:
        wake.set()


_first_sync_done = False


def first_sync_done() -> bool:
    """Whether a full reconcile has ever finished here (``SyncMark``). Before that, the
    approvals coming in are the backlog that was already waiting, not news (once true, it
    stays true, so it is asked of the database until then only)."""
    global _first_sync_done
    if not _first_sync_done:
        _first_sync_done = SyncMark.objects.filter(name=SyncMark.FULL_RECONCILE).exists()
    return _first_sync_done


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
    if name is None:
        return
    # Connecting the dashboard to a Trigger.dev that already has hundreds of approvals
    # waiting must not mail every reviewer hundreds of times: the first sync's backlog is
    # noted silently (docs/notifications.md, "Events"), except where NOTIFY_FIRST_SYNC says.
    silent = name == Event.PENDING and not settings.NOTIFY_FIRST_SYNC and not first_sync_done()
    record(event.approval_id, name, silent=silent)
