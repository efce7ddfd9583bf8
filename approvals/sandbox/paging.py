"""Cursor pagination shared by the runs and tokens lists (docs/trigger-v4.md, "Pagination and
filters")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from approvals.sandbox.durations import parse_date, parse_duration
from approvals.sandbox.http import Response, json_response

T = TypeVar("T")


class QueryError(ValueError):
    """A query parameter the server's zod schema would reject: 400 "Query Error"."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param

    def response(self) -> Response:
        issue = {"code": "custom", "message": str(self), "path": [self.param]}
        return json_response({"error": "Query Error", "details": [issue]}, 400)


@dataclass(frozen=True)
class Page:
    size: int
    after: str | None
    before: str | None


def read_page(query: dict[str, str]) -> Page:
    raw = query.get("page[size]", "25")
    try:
        size = int(raw)
    except ValueError:
        raise QueryError("page[size]", "Expected number, received nan") from None
    if not 1 <= size <= 100:
        raise QueryError("page[size]", "page[size] must be between 1 and 100")
    return Page(size, query.get("page[after]") or None, query.get("page[before]") or None)


def comma_list(query: dict[str, str], name: str) -> list[str] | None:
    raw = query.get(name)
    if raw is None:
        return None
    values = [value.strip() for value in raw.split(",") if value.strip()]
    return values or None


def created_window(
    query: dict[str, str], now: datetime, default_period: timedelta | None
) -> tuple[datetime | None, datetime | None]:
    """filter[createdAt]: period, from and to combine; the later start wins (docs/trigger-v4.md,
    "Pagination and filters")."""
    period_raw = query.get("filter[createdAt][period]")
    from_raw = query.get("filter[createdAt][from]")
    to_raw = query.get("filter[createdAt][to]")
    starts: list[datetime] = []
    if period_raw:
        period = parse_duration(period_raw)
        if period is None:
            raise QueryError("filter[createdAt][period]", f"Invalid period: {period_raw}")
        starts.append(now - period)
    if from_raw:
        start = parse_date(from_raw)
        if start is None:
            raise QueryError("filter[createdAt][from]", "Invalid date")
        starts.append(start)
    end = None
    if to_raw:
        end = parse_date(to_raw)
        if end is None:
            raise QueryError("filter[createdAt][to]", "Invalid date")
    if not (period_raw or from_raw or to_raw) and default_period is not None:
        starts.append(now - default_period)
    return (max(starts) if starts else None), end


def paginate(
    items: Sequence[T],
    page: Page,
    key: Callable[[T], Any],
    encode: Callable[[T], str],
    decode: Callable[[str], Any],
) -> tuple[list[T], dict[str, Any]]:
    """``items`` sorted newest first by ``key``; cursors point at the edge items of a page."""
    if page.after is not None:
        after = decode(page.after)
        start = next((i for i, item in enumerate(items) if key(item) < after), len(items))
        chosen = list(items[start : start + page.size])
    elif page.before is not None:
        before = decode(page.before)
        end = sum(1 for item in items if key(item) > before)
        start = max(0, end - page.size)
        chosen = list(items[start:end])
    else:
        start = 0
        chosen = list(items[: page.size])
    pagination: dict[str, Any] = {}
    if chosen and start + len(chosen) < len(items):
        pagination["next"] = encode(chosen[-1])
    if chosen and start > 0:
        pagination["previous"] = encode(chosen[0])
    return chosen, pagination
