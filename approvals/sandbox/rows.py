"""A run as Electric would send it: the TaskRun row with every value a string (docs/trigger-v4.md,
"Realtime")."""

from __future__ import annotations

import json
from typing import Any

from approvals.sandbox.models import Run, electric_timestamp

# The columns the server asks Electric for (DEFAULT_ELECTRIC_COLUMNS), with the types the SDK
# needs to decode them: int4/float8 numbers, bool, and text arrays with dims 1 (docs/trigger-v4.md,
# "Realtime").
SCHEMA: dict[str, dict[str, Any]] = {
    "id": {"type": "text", "not_null": True, "pk_index": 0},
    "taskIdentifier": {"type": "text", "not_null": True},
    "createdAt": {"type": "timestamp", "not_null": True},
    "updatedAt": {"type": "timestamp", "not_null": True},
    "startedAt": {"type": "timestamp"},
    "delayUntil": {"type": "timestamp"},
    "queuedAt": {"type": "timestamp"},
    "expiredAt": {"type": "timestamp"},
    "completedAt": {"type": "timestamp"},
    "friendlyId": {"type": "text", "not_null": True},
    "number": {"type": "int4", "not_null": True},
    "isTest": {"type": "bool", "not_null": True},
    "status": {"type": "text", "not_null": True},
    "usageDurationMs": {"type": "int4", "not_null": True},
    "costInCents": {"type": "float8", "not_null": True},
    "baseCostInCents": {"type": "float8", "not_null": True},
    "ttl": {"type": "text"},
    "payload": {"type": "text"},
    "payloadType": {"type": "text", "not_null": True},
    "metadata": {"type": "text"},
    "metadataType": {"type": "text", "not_null": True},
    "output": {"type": "text"},
    "outputType": {"type": "text", "not_null": True},
    "runTags": {"type": "text", "dims": 1},
    "error": {"type": "jsonb"},
    "realtimeStreams": {"type": "text", "dims": 1, "not_null": True},
}

# Electric refuses to skip these (docs/trigger-v4.md, "Realtime").
UNSKIPPABLE = frozenset({"id", "taskIdentifier", "friendlyId", "status", "createdAt"})


def pg_text_array(values: list[str]) -> str:
    """A Postgres array literal, the way Electric sends text[] columns: {"a","b"}."""
    quoted = ('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)
    return "{" + ",".join(quoted) + "}"


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _ts(value: Any) -> str | None:
    return None if value is None else electric_timestamp(value)


def encode_row(run: Run) -> dict[str, str | None]:
    return {
        "id": run.id,
        "taskIdentifier": run.task_identifier,
        "createdAt": _ts(run.created_at),
        "updatedAt": _ts(run.updated_at),
        "startedAt": _ts(run.started_at),
        "delayUntil": None,
        "queuedAt": _ts(run.created_at),
        "expiredAt": None,
        "completedAt": _ts(run.completed_at),
        "friendlyId": run.friendly_id,
        "number": str(run.number),
        "isTest": "t" if run.is_test else "f",
        "status": run.status,
        "usageDurationMs": str(run.duration_ms),
        "costInCents": repr(float(run.cost_in_cents)),
        "baseCostInCents": "0",
        "ttl": run.ttl,
        "payload": _json(run.payload),
        "payloadType": "application/json",
        "metadata": _json(run.metadata) if run.metadata else None,
        "metadataType": "application/json",
        "output": _json(run.output) if run.has_output else None,
        "outputType": "application/json",
        "runTags": pg_text_array(run.tags),
        "error": None,
        "realtimeStreams": pg_text_array(run.realtime_streams),
    }
