"""The sync worker: leader lock, reconcile every few seconds, realtime feed, delivery retries.

Several workers may run; the one holding the leader lock works and the others stand by,
trying the lock once per interval. A pass never raises: an upstream failure is in its report
and an unexpected error is logged, and the next pass comes ``interval`` seconds later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, connections
from django.utils import timezone

from approvals.decisions import deliver_due
from approvals.models import SyncMark
from approvals.notify.outbox import Notifier
from approvals.sync.budget import TightBudgetLog, shared_budget
from approvals.sync.follower import RealtimeFollower
from approvals.sync.leader import LeaderLock, leader_lock
from approvals.sync.recent import read_unread_payloads, sync_recent
from approvals.sync.reconcile import SyncReport, sync_once
from approvals.trigger import Pacer

logger = logging.getLogger("approvals.worker")


def run_pass(
    *, full: bool = True, pacer: Pacer | None = None
) -> tuple[SyncReport | None, int | None]:
    """One pass (a full reconcile, or only what is new: approvals.sync.recent), then the due
    deliveries; logs one line. Never raises."""
    if not connection.in_atomic_block:  # (inside one, Django would close it: tests)
        close_old_connections()  # a long-lived worker: drop connections the server closed
    report: SyncReport | None = None
    delivered: int | None = None
    try:
        report = sync_once(pacer=pacer) if full else sync_recent()
    except Exception:
        logger.exception("sync: pass crashed")
    try:
        delivered = deliver_due()
    except Exception:
        logger.exception("sync: delivery retries crashed")
    if report is not None:
        tail = "" if delivered is None else f" delivered={delivered}"
        log = logger.info if report.ok else logger.warning
        if report.ok and not full and not report.created and not delivered:
            log = logger.debug  # a quiet pass every few seconds is not news
        log("sync: %s%s%s", "" if full else "new tokens: ", report.summary(), tail)
    return report, delivered


class FullReconciles:
    """The full reconcile on a thread of its own, every ``SYNC_FULL_INTERVAL_SECONDS``.

    Paced (``SYNC_FULL_CALLS_PER_MINUTE``), a full pass over a long queue takes minutes; on
    the worker's own thread it would hold up the passes for new tokens and the delivery
    retries. The first one after start is not paced: the queue must be whole at once. When a
    pass left payloads for later (the budget was tight), only those are read once the bucket
    has refilled (approvals.sync.recent.read_unread_payloads), not the whole queue again."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.thread: threading.Thread | None = None
        self.next_due = 0.0
        self.payloads_due: float | None = None
        self.first = True
        age = last_full_reconcile_age()
        if age is not None and age < settings.SYNC_FULL_INTERVAL_SECONDS:
            # Another pass made the queue whole moments ago (``sync_approvals --once`` before
            # start, a restart): the feed's snapshot and the passes for new tokens carry on
            # from there, and the next full reconcile comes when its interval says.
            self.next_due = time.monotonic() + settings.SYNC_FULL_INTERVAL_SECONDS - age
            self.first = False
            self.payloads_due = 0.0  # whatever that pass left for later

    def due(self) -> bool:
        if self.thread is not None and self.thread.is_alive():
            return False
        now = time.monotonic()
        return now >= self.next_due or (self.payloads_due is not None and now >= self.payloads_due)

    def start(self) -> None:
        if time.monotonic() < self.next_due:  # only the payloads are due
            self.payloads_due = None
            self._spawn(self._read_payloads)
            return
        pacer = (
            None
            if self.first
            # Waits end early once the worker stops: the pass then finishes unpaced.
            else Pacer(per_minute=settings.SYNC_FULL_CALLS_PER_MINUTE, sleep=self.stop.wait)
        )
        self.first = False
        self.next_due = time.monotonic() + settings.SYNC_FULL_INTERVAL_SECONDS
        self.payloads_due = None
        self._spawn(self._run, pacer)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        self.thread = threading.Thread(
            target=target, args=args, name="approvals-full-reconcile", daemon=True
        )
        self.thread.start()

    def _later(self, report: SyncReport | None) -> None:
        if report is not None and report.deferred:
            # Payloads left for later: come back once the bucket has refilled.
            wait = shared_budget().wait_before_call()
            self.payloads_due = time.monotonic() + max(wait, settings.SYNC_INTERVAL_SECONDS)

    def _run(self, pacer: Pacer | None) -> None:
        try:
            self._later(run_reconcile(pacer))
        finally:
            connections.close_all()

    def _read_payloads(self) -> None:
        try:
            close_old_connections()
            report = read_unread_payloads()
            log = logger.info if report.ok else logger.warning
            log("sync: payloads left for later: %s", report.summary())
            self._later(report)
        except Exception:
            logger.exception("sync: reading payloads left for later crashed")
        finally:
            connections.close_all()

    def join(self, timeout: float) -> None:
        if self.thread is not None:
            self.thread.join(timeout)


def last_full_reconcile_age() -> float | None:
    """Seconds since any worker last started a full reconcile that finished; None: never."""
    mark = SyncMark.objects.filter(name=SyncMark.FULL_RECONCILE).first()
    if mark is None:
        return None
    return max(0.0, (timezone.now() - mark.at).total_seconds())


def run_reconcile(pacer: Pacer | None) -> SyncReport | None:
    close_old_connections()
    try:
        report = sync_once(pacer=pacer)
    except Exception:
        logger.exception("sync: full reconcile crashed")
        return None
    (logger.info if report.ok else logger.warning)("sync: full reconcile: %s", report.summary())
    return report


def run_worker(
    *,
    interval: float | None = None,
    once: bool = False,
    stop: threading.Event | None = None,
    realtime: bool = True,
) -> None:
    """Run until ``stop`` is set (or one pass with ``once``).

    ``once`` runs a single pass without the leader lock: a pass writes in one transaction and
    re-checks the rows it locks, so it is safe beside a running leader. ``realtime=False``
    leaves out the tag feed (reconcile only).
    """
    if once:
        run_pass()
        return
    interval = settings.SYNC_INTERVAL_SECONDS if interval is None else interval
    stop = stop or threading.Event()
    lock = leader_lock()
    announced_standby = False
    try:
        while not stop.is_set():
            if not lock.try_acquire():
                if not announced_standby:
                    logger.info("sync: another worker is the leader; standing by")
                    announced_standby = True
                stop.wait(interval)
                continue
            announced_standby = False
            logger.info("sync: leader; reconciling every %.1f s", interval)
            _lead(lock=lock, interval=interval, stop=stop, realtime=realtime)
    finally:
        lock.release()
        connections.close_all()  # this thread's connections; the worker is done with them


def _lead(*, lock: LeaderLock, interval: float, stop: threading.Event, realtime: bool) -> None:
    """Every ``interval``: the tokens created lately and the due deliveries; every
    ``SYNC_FULL_INTERVAL_SECONDS``, a full reconcile beside them (docs/design.md, "Upstream
    budget"). Without the realtime feed, every pass is a full one, as before it existed."""
    follower = RealtimeFollower() if realtime else None
    if follower is not None:
        follower.start()
    # Only the leader sends notifications (docs/notifications.md, "Delivery").
    notifier = Notifier().start() if settings.NOTIFY_IN_WORKER else None
    done = threading.Event()
    full = FullReconciles(done)
    tight = TightBudgetLog(shared_budget())
    try:
        while not stop.is_set():
            if not realtime:
                run_pass()
            else:
                if full.due():
                    full.start()
                run_pass(full=False)
            tight.report()
            if stop.wait(interval):
                return
            if not lock.is_held():
                logger.warning("sync: lost the leader lock; standing by")
                return
    finally:
        done.set()
        full.join(timeout=10)
        if follower is not None:
            follower.stop()
        if notifier is not None:
            notifier.stop()


class BackgroundWorker:
    """The worker on a daemon thread, for the web process (``SYNC_IN_WEB_PROCESS``)."""

    def __init__(self, *, interval: float | None = None, realtime: bool = True) -> None:
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=run_worker,
            kwargs={"interval": interval, "stop": self.stop_event, "realtime": realtime},
            name="approvals-sync-worker",
            daemon=True,
        )

    def start(self) -> BackgroundWorker:
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout=timeout)
