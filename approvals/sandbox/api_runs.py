"""``GET /api/v1/runs`` and ``GET /api/v3/runs/{runId}`` (docs/trigger-v4.md, "Runs")."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from approvals.sandbox import presenters, statuses
from approvals.sandbox.auth import forbidden
from approvals.sandbox.context import Context
from approvals.sandbox.http import AnyResponse, Request, json_response
from approvals.sandbox.models import Run, unix_ms
from approvals.sandbox.paging import (
    Page,
    QueryError,
    comma_list,
    created_window,
    paginate,
    read_page,
)
from approvals.sandbox.world import RunKey

# Without period/from/to the list covers only the last 7 days (DEFAULT_PERIOD = "7d").
DEFAULT_PERIOD = timedelta(days=7)


def _encode_cursor(key: RunKey) -> str:
    # Opaque, like the real composite (createdAt, runId) cursor.
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> RunKey:
    try:
        created, run_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return (int(created), str(run_id))
    except (ValueError, TypeError):
        raise QueryError("page[after]", "Invalid cursor") from None


def _status_filter(query: dict[str, str]) -> set[str] | None:
    values = comma_list(query, "filter[status]")
    if values is None:
        return None
    invalid = [value for value in values if value not in statuses.API_FILTER_STATUSES]
    if invalid:
        raise QueryError("filter[status]", f"Invalid enum value. Received '{invalid[0]}'")
    return {db for value in values for db in statuses.db_statuses_for_filter(value)}


def _bool_filter(query: dict[str, str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise QueryError(name, "Expected boolean")
    return raw == "true"


@dataclass(frozen=True)
class RunQuery:
    """The list's filters: ``keep`` decides for one run; statuses, tags and the createdAt window
    say which indexes to walk and where (they are checked by ``keep`` too)."""

    statuses: set[str] | None
    tags: list[str] | None
    start: datetime | None
    end: datetime | None
    unmatchable: bool
    keep: Callable[[Run], bool]


def read_run_query(ctx: Context, query: dict[str, str]) -> RunQuery:
    db_statuses = _status_filter(query)
    tasks = comma_list(query, "filter[taskIdentifier]")
    versions = comma_list(query, "filter[version]")
    tags = comma_list(query, "filter[tag]")
    queues = comma_list(query, "filter[queue]")
    machines = comma_list(query, "filter[machine]")
    regions = comma_list(query, "filter[region]")
    is_test = _bool_filter(query, "filter[isTest]")
    start, end = created_window(query, ctx.clock.now(), DEFAULT_PERIOD)
    # The sandbox has no batches, schedules, bulk actions or error groups: asking for any of
    # them matches nothing, as it would in an environment that has none.
    unmatchable = any(
        query.get(name)
        for name in ("filter[batch]", "filter[schedule]", "filter[bulkAction]", "filter[error]")
    )

    def keep(run: Run) -> bool:
        return not (
            unmatchable
            or (db_statuses is not None and run.status not in db_statuses)
            or (tasks is not None and run.task_identifier not in tasks)
            or (versions is not None and run.version not in versions)
            or (tags is not None and not set(tags) & set(run.tags))  # ANY (hasAny)
            or (queues is not None and run.queue not in queues and run.queue[5:] not in queues)
            or (machines is not None and run.machine not in machines)
            or (regions is not None and run.region not in regions)
            or (is_test is not None and run.is_test != is_test)
            or (start is not None and run.created_at < start)
            or (end is not None and run.created_at > end)
        )

    return RunQuery(db_statuses, tags, start, end, unmatchable, keep)


def page_of_runs(ctx: Context, wanted: RunQuery, page: Page) -> tuple[list[Run], dict[str, Any]]:
    """The page, newest first, walking the status/tag indexes from the cursor (or the window's
    end) and stopping once the page is full. Call with the world's lock held."""
    world = ctx.world
    sources = [] if wanted.unmatchable else world.run_sources(wanted.statuses, wanted.tags)

    def load(key: RunKey) -> Run | None:
        world.examined += 1
        run = world.runs[key[1]]
        return run if wanted.keep(run) else None

    # Keys order by createdAt's milliseconds first, which grow with createdAt: a run outside
    # these bounds is outside the window. ("" sorts before every id; ms + 1 after the end's.)
    lowest = None if wanted.start is None else (unix_ms(wanted.start), "")
    highest = None if wanted.end is None else (unix_ms(wanted.end) + 1, "")
    return paginate(
        sources, page, load, _encode_cursor, _decode_cursor, lowest=lowest, highest=highest
    )


async def list_runs(ctx: Context, request: Request) -> AnyResponse:
    if not request.caller.allows("read:runs", "read:tasks", "read:all"):
        return forbidden()
    api_version = request.headers.get("x-trigger-api-version")
    try:
        page = read_page(request.query)
        wanted = read_run_query(ctx, request.query)
        with ctx.world.lock:
            chosen, pagination = page_of_runs(ctx, wanted, page)
            data = [presenters.run_common(ctx, run, api_version) for run in chosen]
    except QueryError as problem:
        return problem.response()
    return json_response({"data": data, "pagination": pagination})


async def retrieve_run(ctx: Context, request: Request) -> AnyResponse:
    run = ctx.world.find_run(request.params["runId"])
    if run is None:
        # shouldRetryNotFound: the SDK retries this 404 before giving up (docs/trigger-v4.md,
        # "Runs").
        return json_response({"error": "Not found"}, 404, [("x-should-retry", "true")])
    if not request.caller.allows(
        "read:runs",
        f"read:runs:{run.friendly_id}",
        f"read:tasks:{run.task_identifier}",
        "read:all",
        *(f"read:tags:{tag}" for tag in run.tags),
    ):
        return forbidden()
    with ctx.world.lock:
        data = presenters.run_detail(ctx, run, request.headers.get("x-trigger-api-version"))
    return json_response(data)
