"""Everything a handler may touch, in one object (the app's parts, without the ASGI plumbing)."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from dataclasses import dataclass, field

from approvals.sandbox.clock import Clock
from approvals.sandbox.config import SandboxConfig
from approvals.sandbox.faults import Faults
from approvals.sandbox.scenario import Scenario
from approvals.sandbox.world import World

_ENV_NAMES = {"dev": "dev", "stg": "staging", "prod": "prod", "preview": "preview"}


@dataclass
class Stats:
    """Request counts per "METHOD /route/{template}", for tests that count client calls."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counts: Counter[str] = field(default_factory=Counter)

    def count(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {"requests": dict(self._counts), "total": sum(self._counts.values())}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


@dataclass
class Context:
    secret_key: str
    clock: Clock
    world: World
    scenario: Scenario
    faults: Faults
    config: SandboxConfig
    stats: Stats

    @property
    def env_id(self) -> str:
        # A stable cuid-like environment id; it is the "sub" of every JWT the sandbox signs.
        return "cm" + hashlib.sha256(self.secret_key.encode()).hexdigest()[:23]

    @property
    def env_name(self) -> str:
        parts = self.secret_key.split("_")
        return _ENV_NAMES.get(parts[1], "dev") if len(parts) > 2 else "dev"
