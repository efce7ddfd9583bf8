"""Typed, immutable records parsed defensively from API answers.

Required fields are checked; a missing or ill-typed one raises ``MalformedResponseError`` naming
it (``run.createdAt``), never a bare ``KeyError``/``TypeError``. Optional fields may be absent
(the real server omits empty fields rather than sending ``null``). Unknown fields are kept in
``raw``. Datetimes become timezone-aware UTC ``datetime`` objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from . import jsontext
from .errors import MalformedResponseError
from .packets import decode_packet
from .statuses import FINAL_STATUSES

__all__ = [
    "CreatedToken",
    "Page",
    "Run",
    "StreamEvent",
    "StreamSnapshot",
    "WaitpointToken",
    "parse_datetime",
]

T = TypeVar("T")


def parse_datetime(value: Any) -> datetime | None:
    """Parse an ISO-8601 / Postgres timestamp; a value without zone is UTC. ``None`` if unusable."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    elif isinstance(value, str) and value:
        text = value.strip()
        if text.endswith(("+00", "-00")) and text[-6:-5] != ":":
            text += ":00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class FieldReader:
    """Typed getters over one JSON object, raising ``MalformedResponseError`` with field names."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise MalformedResponseError(
                f"expected a JSON object for {where}, got {type(data).__name__}", field=where
            )
        self.data = data
        self.where = where

    def _bad(self, key: str, expected: str) -> MalformedResponseError:
        name = f"{self.where}.{key}"
        if key not in self.data:
            return MalformedResponseError(f"missing required field {name!r}", field=name)
        got = type(self.data[key]).__name__
        return MalformedResponseError(f"field {name!r} should be {expected}, got {got}", field=name)

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value:
            raise self._bad(key, "a non-empty string")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def when(self, key: str) -> datetime:
        value = parse_datetime(self.data.get(key))
        if value is None:
            raise self._bad(key, "an ISO-8601 date")
        return value

    def opt_when(self, key: str) -> datetime | None:
        raw = self.data.get(key)
        if raw is None:
            return None
        value = parse_datetime(raw)
        if value is None:
            raise self._bad(key, "an ISO-8601 date")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._bad(key, "a boolean")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):  # the API accepts "a string or an array" for tags
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(key, "a list of strings")
        return tuple(value)

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        if value is None:
            return {}
        if isinstance(value, str):  # a packet string slipped through: decode it
            try:
                value = jsontext.loads(value)
            except ValueError:
                raise self._bad(key, "a JSON object") from None
        if not isinstance(value, dict):
            raise self._bad(key, "a JSON object")
        return value

    def opt_number(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._bad(key, "a number")
        return value


@dataclass(frozen=True)
class Run:
    """A run as returned by list (``GET /api/v1/runs``), retrieve (``GET /api/v3/runs/{id}``)
    or a realtime feed. ``status`` is the API status (``WAITING``, ``COMPLETED`` …)."""

    id: str
    status: str
    task_identifier: str
    created_at: datetime
    updated_at: datetime
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    delayed_until: datetime | None = None
    expired_at: datetime | None = None
    is_test: bool = False
    payload: Any = None
    output: Any = None
    error: Any = None
    idempotency_key: str | None = None
    version: str | None = None
    ttl: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any, where: str = "run") -> Run:
        f = FieldReader(data, where)
        return cls(
            id=f.text("id"),
            status=f.text("status"),
            task_identifier=f.text("taskIdentifier"),
            created_at=f.when("createdAt"),
            updated_at=f.when("updatedAt"),
            tags=f.strings("tags"),
            metadata=f.mapping("metadata"),
            started_at=f.opt_when("startedAt"),
            finished_at=f.opt_when("finishedAt"),
            delayed_until=f.opt_when("delayedUntil"),
            expired_at=f.opt_when("expiredAt"),
            is_test=f.flag("isTest"),
            payload=f.data.get("payload"),
            output=f.data.get("output"),
            error=f.data.get("error"),
            idempotency_key=f.opt_text("idempotencyKey"),
            version=f.opt_text("version"),
            ttl=f.opt_text("ttl"),
            raw=dict(f.data),
        )

    @property
    def is_finished(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class WaitpointToken:
    """A waitpoint token from list or retrieve. ``output`` is decoded (retrieve only);
    ``timeout_error`` is the timeout message of a ``TIMED_OUT`` token."""

    id: str
    url: str
    status: str
    created_at: datetime
    tags: tuple[str, ...] = ()
    completed_at: datetime | None = None
    timeout_at: datetime | None = None
    idempotency_key: str | None = None
    idempotency_key_expires_at: datetime | None = None
    output: Any = None
    output_type: str | None = None
    output_is_error: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any, where: str = "token") -> WaitpointToken:
        f = FieldReader(data, where)
        output_type = f.opt_text("outputType")
        return cls(
            id=f.text("id"),
            url=f.text("url"),
            status=f.text("status"),
            created_at=f.when("createdAt"),
            tags=f.strings("tags"),
            completed_at=f.opt_when("completedAt"),
            timeout_at=f.opt_when("timeoutAt") or f.opt_when("completedAfter"),
            idempotency_key=f.opt_text("idempotencyKey"),
            idempotency_key_expires_at=f.opt_when("idempotencyKeyExpiresAt"),
            output=decode_packet(f.data.get("output"), output_type),
            output_type=output_type,
            output_is_error=f.flag("outputIsError"),
            raw=dict(f.data),
        )

    @property
    def timeout_error(self) -> str | None:
        """The server's timeout message (``Waitpoint timed out at …``) for a timed-out token."""
        if not (self.output_is_error or self.status == "TIMED_OUT"):
            return None
        if isinstance(self.output, dict) and isinstance(self.output.get("message"), str):
            return str(self.output["message"])
        if isinstance(self.output, str) and self.output:
            return self.output
        return "Waitpoint timed out"


@dataclass(frozen=True)
class CreatedToken:
    """The answer to ``POST /api/v1/waitpoints/tokens``. ``public_access_token`` is the
    ``x-trigger-jwt`` header (scoped ``write:waitpoints:<id>``), when the server sent one."""

    id: str
    url: str
    is_cached: bool = False
    public_access_token: str | None = field(default=None, repr=False)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any, public_access_token: str | None = None) -> CreatedToken:
        f = FieldReader(data, "token")
        return cls(
            id=f.text("id"),
            url=f.text("url"),
            is_cached=f.flag("isCached"),
            public_access_token=public_access_token,
            raw=dict(f.data),
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a cursor-paginated list. Pass ``next`` back as ``after=`` (cursors are
    opaque: an internal id for tokens, a composite for runs)."""

    data: tuple[T, ...]
    next: str | None = None
    previous: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # Items that could not be read, each naming its index and field. One bad record must not
    # hide the rest of the page (or stall every sync pass until upstream changes it).
    invalid: tuple[MalformedResponseError, ...] = field(default=(), compare=False)

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    @property
    def next_cursor(self) -> str | None:
        return self.next

    @property
    def previous_cursor(self) -> str | None:
        return self.previous

    @property
    def has_more(self) -> bool:
        return self.next is not None


def parse_page(data: Any, item: type[Run] | type[WaitpointToken]) -> Page[Any]:
    f = FieldReader(data, "response")
    items = f.data.get("data")
    if not isinstance(items, list):
        raise f._bad("data", "a list")
    pagination = FieldReader(f.data.get("pagination") or {}, "response.pagination")
    parsed: list[Any] = []
    invalid: list[MalformedResponseError] = []
    for i, entry in enumerate(items):
        try:
            parsed.append(item.from_api(entry, f"data[{i}]"))
        except MalformedResponseError as exc:
            invalid.append(exc)
    return Page(
        data=tuple(parsed),
        next=pagination.opt_text("next") or None,
        previous=pagination.opt_text("previous") or None,
        raw=dict(f.data),
        invalid=tuple(invalid),
    )


@dataclass(frozen=True)
class StreamEvent:
    """One chunk of a realtime stream: ``id`` is the resume point (Redis id, or S2 seq_num)."""

    id: str | None
    data: Any


@dataclass(frozen=True)
class StreamSnapshot:
    """Everything a stream held when read once (``runs.fetch_stream``)."""

    chunks: tuple[Any, ...] = ()
    last_event_id: str | None = None

    @property
    def tokens(self) -> tuple[dict[str, Any], ...]:
        """Chunks that announce a token: objects with an ``id``. A token announced again
        (an update) replaces its earlier record, keeping its first position."""
        by_id: dict[str, dict[str, Any]] = {}
        for chunk in self.chunks:
            if isinstance(chunk, dict) and isinstance(chunk.get("id"), str):
                by_id[chunk["id"]] = chunk
        return tuple(by_id.values())
