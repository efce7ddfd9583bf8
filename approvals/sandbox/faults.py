"""Injected trouble (latency, 5xx, dropped connections) and the API rate limiter
(docs/trigger-v4.md, "Errors, rate limits, retries")."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

# What Trigger.dev Cloud documents ("1,500 requests per minute"); reported while limiting is off.
DEFAULT_LIMIT = 1500


class FaultError(ValueError):
    """A control request asked for an impossible setting."""


@dataclass
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_ms: int

    def headers(self) -> list[tuple[str, str]]:
        return [
            ("x-ratelimit-limit", str(self.limit)),
            ("x-ratelimit-remaining", str(max(self.remaining, 0))),
            ("x-ratelimit-reset", str(self.reset_ms)),
        ]


@dataclass
class _Window:
    started: float
    count: int = 0


@dataclass
class Faults:
    """Knobs set through ``POST /_sandbox/faults``; all off by default."""

    latency_ms: float = 0.0
    error_rate: float = 0.0
    rate_limit: int | None = None  # requests per minute per key; None = off
    drop_rate: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)
    _windows: dict[str, _Window] = field(default_factory=dict, repr=False)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update; validate everything before changing anything."""
        known = {"latencyMs", "errorRate", "rateLimit", "dropRate"}
        unknown = set(changes) - known
        if unknown:
            raise FaultError(f"Unknown fault setting(s): {', '.join(sorted(unknown))}")
        staged: dict[str, Any] = {}
        if "latencyMs" in changes:
            staged["latency_ms"] = _number(changes["latencyMs"], "latencyMs", 0, 60_000)
        for api_name, attr in (("errorRate", "error_rate"), ("dropRate", "drop_rate")):
            if api_name in changes:
                staged[attr] = _number(changes[api_name], api_name, 0, 1)
        if "rateLimit" in changes:
            value = changes["rateLimit"]
            if value is None or value == 0:
                staged["rate_limit"] = None
            elif isinstance(value, int) and not isinstance(value, bool) and value > 0:
                staged["rate_limit"] = value
            else:
                raise FaultError("rateLimit must be a positive integer, 0 or null")
        with self._lock:
            for attr, value in staged.items():
                setattr(self, attr, value)
            if "rate_limit" in staged:
                self._windows.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "latencyMs": self.latency_ms,
                "errorRate": self.error_rate,
                "rateLimit": self.rate_limit,
                "dropRate": self.drop_rate,
            }

    def reset(self) -> None:
        with self._lock:
            self.latency_ms = 0.0
            self.error_rate = 0.0
            self.rate_limit = None
            self.drop_rate = 0.0
            self._windows.clear()
            self._rng = random.Random(0)

    def should_fail(self) -> bool:
        with self._lock:
            return self.error_rate > 0 and self._rng.random() < self.error_rate

    def should_drop(self) -> bool:
        with self._lock:
            return self.drop_rate > 0 and self._rng.random() < self.drop_rate

    def take(self, key: str) -> RateDecision:
        """Count one request against ``key``'s one-minute window (wall-clock, like the SDK's)."""
        now = time.time()
        with self._lock:
            limit = self.rate_limit or DEFAULT_LIMIT
            window = self._windows.get(key)
            if window is None or now >= window.started + 60:
                window = self._windows[key] = _Window(started=now)
            window.count += 1
            reset_ms = int((window.started + 60) * 1000)
            remaining = limit - window.count
            allowed = self.rate_limit is None or remaining >= 0
            return RateDecision(allowed, limit, remaining, reset_ms)


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise FaultError(f"{name} must be a number from {low:g} to {high:g}")
    return float(value)
