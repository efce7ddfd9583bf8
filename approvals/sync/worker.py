"""The sync worker: leader lock, reconcile every few seconds, realtime feed, delivery retries.

Several workers may run; the one holding the leader lock works and the others stand by,
trying the lock once per interval. A pass never raises: an upstream failure is in its report
and an unexpected error is logged, and the next pass comes ``interval`` seconds later.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection, connections

from approvals.decisions import deliver_due
from approvals.sync.follower import RealtimeFollower
from approvals.sync.leader import LeaderLock, leader_lock
from approvals.sync.reconcile import SyncReport, sync_once

logger = logging.getLogger("approvals.worker")


def run_pass() -> tuple[SyncReport | None, int | None]:
    """One reconcile pass, then the due deliveries; logs one line. Never raises."""
    if not connection.in_atomic_block:  # (inside one, Django would close it: tests)
        close_old_connections()  # a long-lived worker: drop connections the server closed
    report: SyncReport | None = None
    delivered: int | None = None
    try:
        report = sync_once()
    except Exception:
        logger.exception("sync: pass crashed")
    try:
        delivered = deliver_due()
    except Exception:
        logger.exception("sync: delivery retries crashed")
    if report is not None:
        tail = "" if delivered is None else f" delivered={delivered}"
        log = logger.info if report.ok else logger.warning
        log("sync: %s%s", report.summary(), tail)
    return report, delivered


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
    follower = RealtimeFollower() if realtime else None
    if follower is not None:
        follower.start()
    try:
        while not stop.is_set():
            run_pass()
            if stop.wait(interval):
                return
            if not lock.is_held():
                logger.warning("sync: lost the leader lock; standing by")
                return
    finally:
        if follower is not None:
            follower.stop()


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
