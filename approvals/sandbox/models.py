"""The records the sandbox keeps, shaped like Trigger.dev's database rows (not its API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Token DB statuses: a timed-out token is stored COMPLETED with outputIsError=true
# (docs/trigger-v4.md, "Waitpoint tokens").
TOKEN_PENDING = "PENDING"
TOKEN_COMPLETED = "COMPLETED"


@dataclass
class Run:
    id: str  # internal id; the API shows friendly_id
    number: int
    task_identifier: str
    status: str  # raw DB TaskRunStatus, e.g. WAITING_TO_RESUME
    payload: Any
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    has_output: bool = False
    version: str = "20250801.1"
    is_test: bool = False
    ttl: str = "14d"
    queue: str = ""
    machine: str = "small-1x"
    region: str = "us-east-1"
    duration_ms: int = 0
    cost_in_cents: float = 0.0
    realtime_streams: list[str] = field(default_factory=list)
    # Scenario bookkeeping, not part of any API shape.
    waiting_on_token: str | None = None
    finish_at: datetime | None = None
    pending_output: Any = None

    @property
    def friendly_id(self) -> str:
        return f"run_{self.id}"


@dataclass
class Token:
    id: str  # internal id; the API shows friendly_id
    created_at: datetime
    tags: list[str]
    idempotency_key: str
    user_provided_key: bool
    idempotency_key_expires_at: datetime | None = None
    inactive_idempotency_key: str | None = None
    timeout_at: datetime | None = None
    status: str = TOKEN_PENDING
    completed_at: datetime | None = None
    output: str | None = None  # the stored packet string
    output_type: str = "application/json"
    output_is_error: bool = False

    @property
    def friendly_id(self) -> str:
        return f"waitpoint_{self.id}"


@dataclass
class StreamRecord:
    seq: int  # v2 seq_num, 0-based
    timestamp_ms: int
    chunk_id: str
    data: Any

    @property
    def v1_id(self) -> str:
        # Redis stream ids are "<ms>-<n>"; the sequence number keeps them unique and ordered.
        return f"{self.timestamp_ms}-{self.seq}"


def iso(moment: datetime) -> str:
    """API dates: ISO-8601 with milliseconds and a Z, as JavaScript's toISOString() writes."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def electric_timestamp(moment: datetime) -> str:
    """Electric timestamps carry no timezone suffix; the SDK appends the Z itself
    (docs/trigger-v4.md, "Realtime")."""
    return iso(moment)[:-1]


def unix_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
