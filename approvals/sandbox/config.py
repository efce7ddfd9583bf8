"""Protocol knobs tests may turn (``POST /_sandbox/config``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    pass


@dataclass
class SandboxConfig:
    # "v1" = Redis-style SSE (id/data lines), "v2" = S2-style batches (X-Stream-Version: v2).
    stream_version: str = "v1"
    # How long a live Electric request waits for a change; the real server holds ~20 s.
    live_poll_seconds: float = 20.0
    # How long an SSE stream stays open when the request has no Timeout-Seconds header.
    default_stream_timeout_seconds: float = 60.0
    # False emulates a run-engine fault Trigger.dev has had: a completed token whose run
    # never resumes (the dashboard flags such runs; docs/live-updates.md, "Stuck runs").
    resume_runs: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, changes: dict[str, Any]) -> None:
        staged: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "streamVersion":
                if value not in ("v1", "v2"):
                    raise ConfigError('streamVersion must be "v1" or "v2"')
                staged["stream_version"] = value
            elif name in ("livePollSeconds", "defaultStreamTimeoutSeconds"):
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not (0 < value <= 600)
                ):
                    raise ConfigError(f"{name} must be a number of seconds in (0, 600]")
                attr = (
                    "live_poll_seconds"
                    if name == "livePollSeconds"
                    else "default_stream_timeout_seconds"
                )
                staged[attr] = float(value)
            elif name == "resumeRuns":
                if not isinstance(value, bool):
                    raise ConfigError("resumeRuns must be true or false")
                staged["resume_runs"] = value
            else:
                raise ConfigError(f"Unknown config setting: {name}")
        with self._lock:
            for attr, value in staged.items():
                setattr(self, attr, value)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "streamVersion": self.stream_version,
                "livePollSeconds": self.live_poll_seconds,
                "defaultStreamTimeoutSeconds": self.default_stream_timeout_seconds,
                "resumeRuns": self.resume_runs,
            }

    def reset(self) -> None:
        self.update(
            {
                "streamVersion": "v1",
                "livePollSeconds": 20.0,
                "defaultStreamTimeoutSeconds": 60.0,
                "resumeRuns": True,
            }
        )
