"""Cursor pagination shared by the runs and tokens lists (docs/trigger-v4.md, "Pagination and
filters")."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, TypeVar

from approvals.sandbox.durations import parse_date, parse_duration
from approvals.sandbox.http import Response, json_response
from approvals.sandbox.indexes import Ordered, SortedKeys, merged_ascending, merged_descending

K = TypeVar("K", bound=Ordered)
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
    sources: Sequence[SortedKeys[K]],
    page: Page,
    load: Callable[[K], T | None],
    encode: Callable[[K], str],
    decode: Callable[[str], K],
    *,
    lowest: K | None = None,
    highest: K | None = None,
) -> tuple[list[T], dict[str, Any]]:
    """One page of a list sorted newest first by key, walking only as far as the page needs.

    ``sources`` hold the keys of every item that may match (their union is taken, without
    repeats); ``load`` gives the item for a key, or None when the filters drop it; nothing
    matches outside ``lowest``..``highest`` (both included). Cursors are the keys of a page's
    edge items, and the answer is the one sorting every match would give: after a cursor, the
    next ``size`` items older than it; before one, the ``size`` items just newer than it.
    """

    def down(below: K | None, *, inclusive: bool) -> Iterator[tuple[K, T]]:
        if highest is not None and (below is None or highest < below):
            below, inclusive = highest, True
        keys = merged_descending(sources, below, inclusive=inclusive, lowest=lowest)
        return ((key, item) for key in keys if (item := load(key)) is not None)

    def up(above: K | None, *, inclusive: bool) -> Iterator[tuple[K, T]]:
        if lowest is not None and (above is None or above < lowest):
            above, inclusive = lowest, True
        keys = merged_ascending(sources, above, inclusive=inclusive, highest=highest)
        return ((key, item) for key in keys if (item := load(key)) is not None)

    size = page.size
    if page.after is not None:
        after = decode(page.after)
        found = list(islice(down(after, inclusive=False), size + 1))
        chosen = found[:size]
        newer = bool(chosen) and next(up(after, inclusive=True), None) is not None
        older = len(found) > size
    elif page.before is not None:
        before = decode(page.before)
        found = list(islice(up(before, inclusive=False), size + 1))
        chosen = found[:size][::-1]
        newer = len(found) > size
        older = bool(chosen) and next(down(before, inclusive=True), None) is not None
    else:
        found = list(islice(down(None, inclusive=False), size + 1))
        chosen = found[:size]
        newer = False
        older = len(found) > size
    pagination: dict[str, Any] = {}
    if chosen and older:
        pagination["next"] = encode(chosen[-1][0])
    if chosen and newer:
        pagination["previous"] = encode(chosen[0][0])
    return [item for _, item in chosen], pagination
