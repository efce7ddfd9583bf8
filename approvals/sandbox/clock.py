"""A controllable clock: real time, shifted by an offset, optionally frozen.

Everything in the sandbox that has a notion of "when" (run timestamps, token timeouts, new demo
runs arriving) reads this clock, so tests can jump a day ahead instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    """Real time plus an offset; freezing pins it at the current instant."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None

    def time(self) -> float:
        """Sandbox time as a unix timestamp in seconds."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=UTC)

    @property
    def frozen(self) -> bool:
        with self._lock:
            return self._frozen_at is not None

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def freeze(self, frozen: bool) -> None:
        with self._lock:
            if frozen and self._frozen_at is None:
                self._frozen_at = time.time() + self._offset
            elif not frozen and self._frozen_at is not None:
                # Thawing keeps the sandbox time where it was, then lets it run on.
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None
