"""The ElectricSQL shape-stream protocol behind ``/realtime/v1/runs…`` (docs/trigger-v4.md,
"Realtime"), sans-IO.

``ShapeStream`` says which query parameters the next request needs and digests each answer:
it merges partial updates into the row it holds per ``key``, holds changes back until the
server says ``up-to-date`` (as the SDK does), and restarts from scratch on ``409`` /
``must-refetch``. ``run_from_row`` decodes a row (all values arrive as strings) into a ``Run``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import jsontext
from .errors import MalformedResponseError
from .packets import decode_packet
from .records import FieldReader, Run, parse_datetime
from .statuses import api_status_from_db_status

__all__ = ["ELECTRIC_VERSION", "ShapeStream", "decode_row", "parse_pg_array", "run_from_row"]

#: Sent as ``x-trigger-electric-version`` (the value the SDK sends). Without it the server
#: assumes a legacy client and renames the response headers.
ELECTRIC_VERSION = "1.0.0-beta.1"

_INT_TYPES = frozenset({"int2", "int4", "int8", "oid"})
_FLOAT_TYPES = frozenset({"float4", "float8", "numeric"})
_TIME_TYPES = frozenset({"timestamp", "timestamptz", "date"})
_JSON_TYPES = frozenset({"json", "jsonb"})

# Fallbacks for columns the schema header does not describe.
_TIME_COLUMNS = frozenset(
    {"createdAt", "updatedAt", "startedAt", "delayUntil", "queuedAt", "expiredAt", "completedAt"}
)
_INT_COLUMNS = frozenset({"number", "usageDurationMs"})
_FLOAT_COLUMNS = frozenset({"costInCents", "baseCostInCents"})
_ARRAY_COLUMNS = frozenset({"runTags", "realtimeStreams"})
_BOOL_COLUMNS = frozenset({"isTest"})


def _header(headers: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = headers.get(name)
        if value is not None:
            return value
    return None


class ShapeStream:
    """State of one Electric shape subscription."""

    def __init__(self, params: Mapping[str, str] | None = None) -> None:
        self.base_params = dict(params or {})
        self.handle: str | None = None
        self.offset = "-1"
        self.cursor: str | None = None
        self.up_to_date = False
        self.expired_handle: str | None = None
        self.schema: dict[str, Any] = {}
        self.rows: dict[str, dict[str, Any]] = {}
        self._pending: list[str] = []

    @property
    def live(self) -> bool:
        return self.up_to_date and self.handle is not None

    def next_params(self) -> dict[str, str]:
        """Query parameters for the next request, sorted like the Electric client sends them."""
        params = dict(self.base_params)
        params["log"] = "full"
        params["offset"] = self.offset
        if self.handle is not None:
            params["handle"] = self.handle
        if self.expired_handle is not None and self.offset == "-1":
            params["expired_handle"] = self.expired_handle
        if self.live:
            params["live"] = "true"
            if self.cursor is not None:
                params["cursor"] = self.cursor
        return dict(sorted(params.items()))

    def reset(self, new_handle: str | None) -> None:
        """``must-refetch``: forget everything and start again from ``offset=-1``."""
        self.expired_handle = self.handle or self.expired_handle
        self.handle = new_handle
        self.offset = "-1"
        self.cursor = None
        self.up_to_date = False
        self.rows.clear()
        self._pending.clear()

    def handle_response(
        self, status: int, headers: Mapping[str, str], body: bytes
    ) -> list[dict[str, Any]]:
        """Digest one answer; return the decoded rows to emit now (possibly none).

        ``headers`` must look names up case-insensitively (``httpx.Headers`` does).
        Statuses other than 2xx and 409 are the caller's business.
        """
        if status == 409:
            self.reset(_header(headers, "electric-handle", "electric-shape-id"))
            return []
        if status == 204:
            self.up_to_date = True
            return self._flush()
        handle = _header(headers, "electric-handle", "electric-shape-id")
        offset = _header(headers, "electric-offset", "electric-chunk-last-offset")
        if handle is None and self.handle is None:
            raise MalformedResponseError(
                "realtime answer lacks the electric-handle header", field="electric-handle"
            )
        if offset is None:
            raise MalformedResponseError(
                "realtime answer lacks the electric-offset header", field="electric-offset"
            )
        schema_text = headers.get("electric-schema")
        if schema_text:
            try:
                schema = jsontext.loads(schema_text)
            except ValueError:
                raise MalformedResponseError(
                    "electric-schema header is not JSON", field="electric-schema"
                ) from None
            if isinstance(schema, dict):
                self.schema = schema
        messages = _parse_messages(body)
        for message in messages:
            msg_headers = message.get("headers")
            if not isinstance(msg_headers, dict):
                continue
            control = msg_headers.get("control")
            if control == "must-refetch":
                self.reset(handle)
                return []
            if control == "up-to-date":
                self.up_to_date = True
                continue
            self._apply(message, msg_headers.get("operation"))
        if handle is not None:
            self.handle = handle
        self.offset = offset
        cursor = headers.get("electric-cursor")
        if cursor is not None:
            self.cursor = cursor
        if "electric-up-to-date" in headers:
            self.up_to_date = True
        return self._flush() if self.up_to_date else []

    def _apply(self, message: dict[str, Any], operation: Any) -> None:
        key = message.get("key")
        if not isinstance(key, str):
            return
        if operation == "delete":
            self.rows.pop(key, None)
            return
        if operation not in ("insert", "update"):
            return
        value = message.get("value")
        if not isinstance(value, dict):
            raise MalformedResponseError(
                f"change message for {key} has no value object", field="value"
            )
        if operation == "insert":
            self.rows[key] = dict(value)
        else:
            self.rows.setdefault(key, {}).update(value)
        if key not in self._pending:
            self._pending.append(key)

    def _flush(self) -> list[dict[str, Any]]:
        rows = [
            decode_row(self.rows[key], self.schema) for key in self._pending if key in self.rows
        ]
        self._pending.clear()
        return rows


def _parse_messages(body: bytes) -> list[dict[str, Any]]:
    if not body.strip():
        return []
    try:
        decoded = jsontext.loads(body)
    except ValueError:
        raise MalformedResponseError("realtime answer is not valid JSON", field="body") from None
    if not isinstance(decoded, list):
        raise MalformedResponseError("realtime answer should be a JSON array", field="body")
    return [m for m in decoded if isinstance(m, dict)]


def parse_pg_array(text: str) -> list[Any]:
    """Parse a one-dimensional Postgres array literal: ``{"a","b"}``, ``{a,b}``, ``{}``.

    Quoted elements may contain commas and backslash escapes; unquoted ``NULL`` is ``None``.
    """
    inner = text.strip()
    if not (inner.startswith("{") and inner.endswith("}")):
        raise ValueError(f"not a Postgres array literal: {text!r}")
    inner = inner[1:-1]
    items: list[Any] = []
    if not inner:
        return items
    i = 0
    while i <= len(inner):
        if i < len(inner) and inner[i] == '"':
            i += 1
            chars: list[str] = []
            while i < len(inner) and inner[i] != '"':
                if inner[i] == "\\" and i + 1 < len(inner):
                    i += 1
                chars.append(inner[i])
                i += 1
            items.append("".join(chars))
            i += 1  # closing quote
            while i < len(inner) and inner[i] != ",":
                i += 1
        else:
            end = inner.find(",", i)
            end = len(inner) if end == -1 else end
            word = inner[i:end].strip()
            items.append(None if word.upper() == "NULL" else word)
            i = end
        i += 1  # the comma
    return items


def _decode_value(name: str, value: Any, column: Mapping[str, Any] | None) -> Any:
    if value is None or not isinstance(value, str):
        return value  # already typed (some servers send real JSON values)
    kind = str(column.get("type", "")) if column else ""
    dims = column.get("dims", 0) if column else 0
    try:
        if dims or (not kind and name in _ARRAY_COLUMNS and value.startswith("{")):
            return parse_pg_array(value)
        if kind == "bool" or (not kind and name in _BOOL_COLUMNS):
            return value.strip().lower() in ("t", "true", "1", "yes", "on")
        if kind in _INT_TYPES or (not kind and name in _INT_COLUMNS):
            return int(value)
        if kind in _FLOAT_TYPES or (not kind and name in _FLOAT_COLUMNS):
            return float(value)
        if kind in _TIME_TYPES or (not kind and name in _TIME_COLUMNS):
            parsed = parse_datetime(value)
            return value if parsed is None else parsed
        if kind in _JSON_TYPES:
            return jsontext.loads(value)
    except ValueError:
        return value
    return value


def decode_row(row: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Decode every column of a raw Electric row, guided by the ``electric-schema`` header."""
    decoded: dict[str, Any] = {}
    for name, value in row.items():
        column = schema.get(name)
        decoded[name] = _decode_value(name, value, column if isinstance(column, dict) else None)
    return decoded


def _json_value(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return jsontext.loads(value)
        except ValueError:
            return value
    return value


def run_from_row(row: Mapping[str, Any]) -> Run:
    """Build a ``Run`` from a decoded realtime row (``TaskRun`` columns, raw DB status)."""
    f = FieldReader(row, "realtime run")
    run_id = f.opt_text("friendlyId") or f.text("id")
    metadata = decode_packet(row.get("metadata"), f.opt_text("metadataType"))
    tags = row.get("runTags")
    return Run(
        id=run_id,
        status=api_status_from_db_status(f.text("status")),
        task_identifier=f.text("taskIdentifier"),
        created_at=f.when("createdAt"),
        updated_at=f.opt_when("updatedAt") or f.when("createdAt"),
        tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
        metadata=metadata if isinstance(metadata, dict) else {},
        started_at=f.opt_when("startedAt"),
        finished_at=f.opt_when("completedAt"),
        delayed_until=f.opt_when("delayUntil"),
        expired_at=f.opt_when("expiredAt"),
        is_test=row.get("isTest") is True,
        payload=decode_packet(row.get("payload"), f.opt_text("payloadType")),
        output=decode_packet(row.get("output"), f.opt_text("outputType")),
        error=_json_value(row.get("error")),
        idempotency_key=f.opt_text("idempotencyKey"),
        version=f.opt_text("version") or f.opt_text("taskVersion"),
        ttl=f.opt_text("ttl"),
        raw=dict(row),
    )
