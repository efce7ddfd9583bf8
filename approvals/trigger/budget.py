"""Staying inside Trigger.dev's rate limit, rather than running into it (docs/trigger-v4.md,
"Rate limits"; docs/design.md, "Upstream budget").

Every answer the server rate-limits carries ``x-ratelimit-limit``, ``x-ratelimit-remaining``
and ``x-ratelimit-reset`` (a unix time in milliseconds). The limit is per environment and is
shared with the tasks using the same key, so the sync worker must leave room for them:

- ``RateBudget`` reads those headers from every answer, and before each call waits until the
  bucket refills once no more than ``reserve_fraction`` of the limit remains (left to the
  tasks). A 429 says ``remaining: 0``, so a retry after one waits for the reset too: the
  client never retries into a 429.
- ``Pacer`` spreads calls out to at most ``per_minute`` (a token bucket holding ``burst``),
  so a full reconcile of a long queue is a trickle over minutes, not a burst of pages.

Both are plain objects with a clock and a sleep that tests replace; neither knows Django.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

Clock = Callable[[], float]
Sleep = Callable[[float], object]

# The longest a call waits for the bucket: the server's window is a minute (cloud) or less.
MAX_WAIT_SECONDS = 65.0


@dataclass
class RateBudget:
    """What the server last said about the environment's budget, and the waiting it implies."""

    reserve_fraction: float = 0.0
    clock: Clock = time.time
    sleep: Sleep = time.sleep
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # unix seconds
    waited_seconds: float = 0.0
    tight: int = 0  # calls that had to wait for the bucket
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def observe(self, response: httpx.Response) -> None:
        """Remember the budget an answer reports (answers without the headers change nothing)."""
        headers = response.headers
        try:
            remaining = int(headers["x-ratelimit-remaining"])
            reset_at = float(headers["x-ratelimit-reset"]) / 1000
        except (KeyError, ValueError):
            return
        limit: int | None
        try:
            limit = int(headers["x-ratelimit-limit"])
        except (KeyError, ValueError):
            limit = None
        with self._lock:
            self.remaining, self.reset_at, self.limit = remaining, reset_at, limit

    @property
    def reserve(self) -> int:
        """Requests left to others: this share of the limit, and at least one."""
        return max(1, int((self.limit or 0) * self.reserve_fraction))

    def wait_before_call(self) -> float:
        """Seconds to wait before the next call (0 while the budget allows it)."""
        with self._lock:
            if self.remaining is None or self.reset_at is None or self.remaining > self.reserve:
                return 0.0
            wait = self.reset_at - self.clock()
        return min(max(wait, 0.0), MAX_WAIT_SECONDS)

    def before_call(self) -> None:
        wait = self.wait_before_call()
        if wait > 0:
            with self._lock:
                self.tight += 1
                self.waited_seconds += wait
                self.remaining = None  # refilled by then; the next answer says how much
            self.sleep(wait)


@dataclass
class Pacer:
    """At most ``per_minute`` calls a minute, ``burst`` of them back to back."""

    per_minute: float
    burst: float = 1.0
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep
    _tokens: float | None = None
    _at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self) -> float:
        """Wait for a token (returns how long it waited)."""
        with self._lock:
            now = self.clock()
            if self._tokens is None:
                self._tokens, self._at = self.burst, now
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_minute / 60.0)
            self._at = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens * 60.0 / self.per_minute
        if wait > 0:
            self.sleep(wait)
        return wait
