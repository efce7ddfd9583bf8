"""The outbox's sender: the sync worker's leader fans occurrences out and sends what is due.

At least once, never twice from our side (docs/notifications.md, "Delivery"):
- a row is leased before it is sent; a worker killed mid-send leaves the lease to run out, and
  a new leader takes over every unfinished lease at once (only the leader sends);
- a retry sends the same stored bytes under the same delivery id, so a receiver drops repeats;
- failures back off (``NOTIFY_BACKOFF_SECONDS`` doubling up to ``NOTIFY_MAX_BACKOFF_SECONDS``)
  for at most ``NOTIFY_RETRY_FOR_SECONDS``, then the row is recorded as failed.
Receivers are sent to on a small pool of threads, each taking one receiver's rows: a slow or
dead receiver holds up its own messages only, never another's, a decision or a page.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connections
from django.db.models import Q
from django.utils import timezone

from approvals.notify import senders, sweep
from approvals.notify.fanout import fan_out_due
from approvals.notify.models import DeliveryStatus, Notification
from approvals.notify.occurrences import wake
from approvals.trigger.retry import RetryPolicy

logger = logging.getLogger("approvals.notify")

BATCH = 20  # rows one receiver's turn sends before others get theirs
SWEEP_EVERY_SECONDS = 10.0


def backoff(attempts: int) -> timedelta:
    policy = RetryPolicy(
        min_delay=settings.NOTIFY_BACKOFF_SECONDS,
        max_delay=settings.NOTIFY_MAX_BACKOFF_SECONDS,
        factor=2.0,
    )
    return timedelta(seconds=policy.backoff(attempts))


def _lease() -> timedelta:
    return timedelta(seconds=(settings.NOTIFY_TIMEOUT_SECONDS + 5) * BATCH + 30)


def take_over_leases() -> int:
    """A new leader: rows the previous one was sending are due again now (it is gone: the
    leader lock is released only when its session ends)."""
    return Notification.objects.filter(status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.PENDING, leased_until=None, next_attempt_at=timezone.now()
    )


def due(now: datetime | None = None) -> dict[str, list[int]]:
    """Due rows' ids by receiver, oldest first."""
    now = now or timezone.now()
    rows = (
        Notification.objects.filter(
            Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            | Q(status=DeliveryStatus.SENDING, leased_until__lt=now)
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "channel_id")[:500]
    )
    by_receiver: dict[str, list[int]] = {}
    for pk, channel_id in rows:
        # (A removed channel's rows go with the emails: they are only cancelled, at once.)
        by_receiver.setdefault(f"channel:{channel_id}" if channel_id else "email", []).append(pk)
    return by_receiver


def send_rows(ids: list[int]) -> int:
    """Lease, send and record ``ids`` one after another; how many were sent."""
    sent = 0
    for pk in ids:
        now = timezone.now()
        claimed = Notification.objects.filter(
            Q(status=DeliveryStatus.PENDING)
            | Q(status=DeliveryStatus.SENDING, leased_until__lt=now),
            pk=pk,
        ).update(status=DeliveryStatus.SENDING, leased_until=now + _lease())
        if not claimed:
            continue
        row = Notification.objects.select_related("channel").get(pk=pk)
        sent += _send_one(row)
    return sent


def _send_one(row: Notification) -> int:
    if row.channel is not None and not row.channel.active:
        _finish(row, DeliveryStatus.CANCELLED, "the channel was turned off")
        return 0
    if row.channel is None and row.recipient_key.startswith("channel:"):
        _finish(row, DeliveryStatus.CANCELLED, "the channel was removed")
        return 0
    try:
        senders.send(row)
    except senders.SendFailed as exc:
        _failed(row, str(exc))
        return 0
    except Exception as exc:  # a bug must not leave the row leased for ever
        logger.exception("notify: sending %s crashed", row.delivery_id)
        _failed(row, f"internal error: {type(exc).__name__}")
        return 0
    _finish(row, DeliveryStatus.SENT, "")
    logger.info(
        "notify: sent %s to %s (delivery %s)", row.event, row.recipient_label, row.delivery_id
    )
    return 1


def _finish(row: Notification, status: str, error: str) -> None:
    now = timezone.now()
    Notification.objects.filter(pk=row.pk).update(
        status=status,
        attempts=row.attempts + (status == DeliveryStatus.SENT),
        sent_at=now if status == DeliveryStatus.SENT else None,
        leased_until=None,
        last_error=error,
    )


def _failed(row: Notification, error: str) -> None:
    now = timezone.now()
    attempts = row.attempts + 1
    gave_up = (now - row.created_at).total_seconds() >= settings.NOTIFY_RETRY_FOR_SECONDS
    Notification.objects.filter(pk=row.pk).update(
        status=DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING,
        attempts=attempts,
        next_attempt_at=now + backoff(attempts),
        leased_until=None,
        last_error=error[:1000],
    )
    logger.warning(
        "notify: %s to %s failed (attempt %d%s): %s",
        row.event,
        row.recipient_label,
        attempts,
        ", gave up" if gave_up else "",
        error,
    )


class Notifier:
    """The leader's notification loop, on a thread of its own beside the sync passes."""

    def __init__(self) -> None:
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="approvals-notify", daemon=True)
        self.pool = ThreadPoolExecutor(
            max_workers=settings.NOTIFY_SENDERS, thread_name_prefix="approvals-notify-send"
        )
        self.busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._last_sweep = 0.0

    def start(self) -> Notifier:
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        wake.set()
        self.thread.join(timeout)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        try:
            taken = take_over_leases()
            if taken:
                logger.info("notify: took over %d message(s) a previous worker was sending", taken)
        except Exception:
            logger.exception("notify: could not take over leases")
        while not self.stop_event.is_set():
            wake.clear()
            self.tick()
            wake.wait(settings.NOTIFY_POLL_SECONDS)
        connections.close_all()

    def tick(self) -> None:
        """One round: sweep now and then, fan out, hand due rows to free senders."""
        close_old_connections()
        try:
            if time.monotonic() - self._last_sweep >= SWEEP_EVERY_SECONDS:
                self._last_sweep = time.monotonic()
                sweep.sweep()
            while fan_out_due() and not self.stop_event.is_set():
                pass
            for receiver, ids in due().items():
                with self._busy_lock:
                    if receiver in self.busy:
                        continue
                    self.busy.add(receiver)
                self.pool.submit(self._send, receiver, ids[:BATCH])
        except Exception:
            logger.exception("notify: round crashed")

    def _send(self, receiver: str, ids: list[int]) -> None:
        try:
            send_rows(ids)
        except Exception:
            logger.exception("notify: sending to %s crashed", receiver)
        finally:
            connections.close_all()
            with self._busy_lock:
                self.busy.discard(receiver)
            wake.set()  # more may be due for this receiver
