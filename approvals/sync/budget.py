"""The sync worker's share of Trigger.dev's rate limit (docs/design.md, "Upstream budget").

One ``RateBudget`` per process, shared by every pass and the realtime follower's look-ups, so
that what the server last said about the environment's bucket holds for all of them. When a
call had to wait for the bucket, the worker says so in its log (at most once a minute): the
limit is shared with the tasks using the same key, and a tight budget is worth knowing about.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

from approvals.trigger import RateBudget

logger = logging.getLogger("approvals.worker")

_lock = threading.Lock()
_budget: RateBudget | None = None
# How often a tight budget is logged.
REPORT_EVERY_SECONDS = 60.0


def shared_budget() -> RateBudget:
    """This process's budget (its reserve follows ``SYNC_RATE_RESERVE``)."""
    global _budget
    with _lock:
        if _budget is None:
            _budget = RateBudget(reserve_fraction=settings.SYNC_RATE_RESERVE)
        _budget.reserve_fraction = settings.SYNC_RATE_RESERVE
        return _budget


class TightBudgetLog:
    """Logs, at most once a minute, that calls waited for the bucket since the last line."""

    def __init__(self, budget: RateBudget) -> None:
        self.budget = budget
        self.reported_waits = budget.tight
        self.reported_at = 0.0

    def report(self) -> bool:
        waits = self.budget.tight - self.reported_waits
        now = time.monotonic()
        if waits <= 0 or now - self.reported_at < REPORT_EVERY_SECONDS:
            return False
        logger.warning(
            "sync: Trigger.dev's rate limit is tight: %d call(s) waited for the bucket to refill "
            "(%.1f s in all so far; limit %s a window, %d kept for the tasks sharing the key)",
            waits,
            self.budget.waited_seconds,
            self.budget.limit if self.budget.limit is not None else "unknown",
            self.budget.reserve,
        )
        self.reported_waits, self.reported_at = self.budget.tight, now
        return True
