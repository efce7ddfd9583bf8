"""The realtime run feeds, speaking the ElectricSQL shape protocol (docs/trigger-v4.md, "Realtime").

Offsets are ``"<change seq>_0"``; a handle names a shape (a run id, or a tags/createdAt filter)
in one "epoch" of the world. A reset, a forced handle reset or an offset older than the change
log remembers makes the handle stale, and the client gets the 409 must-refetch Electric sends.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from approvals.sandbox.context import Context
from approvals.sandbox.durations import parse_duration
from approvals.sandbox.http import AnyResponse, Request, error, json_response
from approvals.sandbox.models import Run, unix_ms
from approvals.sandbox.rows import SCHEMA, UNSKIPPABLE, encode_row
from approvals.sandbox.statuses import CURRENT_API_VERSION

Message = dict[str, object]
MAX_CREATED_AT = timedelta(hours=24)  # REALTIME_MAXIMUM_CREATED_AT_FILTER_AGE_IN_MS
UP_TO_DATE: Message = {"headers": {"control": "up-to-date"}}
MUST_REFETCH: Message = {"headers": {"control": "must-refetch"}}


def _row_key(run_id: str) -> str:
    return f'"public"."TaskRun"/"{run_id}"'


def _handle(ctx: Context, shape: str) -> str:
    digest = int(hashlib.sha256(shape.encode()).hexdigest()[:8], 16)
    return f"{digest}-{ctx.world.handle_epoch}"


class _Shape:
    def __init__(
        self,
        ctx: Context,
        request: Request,
        name: str,
        matches: Callable[[Run], bool],
        members: Callable[[], Iterable[Run]],
    ):
        """``matches`` tells whether a changed run is in the shape; ``members`` lists the runs
        in it now, from the world's indexes (called with the lock held)."""
        self.ctx = ctx
        self.request = request
        self.name = name
        self.handle = _handle(ctx, name)
        self.matches = matches
        self.members = members
        # Without x-trigger-electric-version the server assumes a legacy client
        # (docs/trigger-v4.md, "Realtime").
        self.legacy = "x-trigger-electric-version" not in request.headers
        self.dequeued_as_executing = (
            request.headers.get("x-trigger-api-version") != CURRENT_API_VERSION
        )
        skip = {c.strip() for c in request.query.get("skipColumns", "").split(",") if c.strip()}
        self.skip = skip - UNSKIPPABLE

    def _value(
        self, row: dict[str, str | None], columns: set[str] | frozenset[str]
    ) -> dict[str, object]:
        value: dict[str, object] = {
            k: v for k, v in row.items() if k in columns and k not in self.skip
        }
        if self.dequeued_as_executing and value.get("status") == "DEQUEUED":
            value["status"] = "EXECUTING"
        return value

    def _headers(self, offset: str, *, live: bool) -> list[tuple[str, str]]:
        handle_name = "electric-shape-id" if self.legacy else "electric-handle"
        offset_name = "electric-chunk-last-offset" if self.legacy else "electric-offset"
        headers = [(handle_name, self.handle), (offset_name, offset), ("electric-up-to-date", "")]
        if live:
            # A cache buster that moves on, as Electric's 20-second cursor does.
            headers.append(("electric-cursor", str(int(time.time()))))
        else:
            schema = {k: v for k, v in SCHEMA.items() if k not in self.skip}
            headers.append(("electric-schema", json.dumps(schema, separators=(",", ":"))))
        return headers

    def must_refetch(self) -> AnyResponse:
        # Electric answers 409 with the shape's current handle; the client restarts at -1.
        name = "electric-shape-id" if self.legacy else "electric-handle"
        return json_response([MUST_REFETCH], 409, [(name, _handle(self.ctx, self.name))])

    def snapshot(self) -> AnyResponse:
        world = self.ctx.world
        with world.lock:
            # Oldest first; runs created in the same instant keep the order they were added.
            runs = sorted(self.members(), key=lambda r: (r.created_at, world.position(r.id)))
            messages: list[Message] = [
                {
                    "key": _row_key(run.id),
                    "value": self._value(encode_row(run), frozenset(SCHEMA)),
                    "headers": {"operation": "insert"},
                }
                for run in runs
            ]
            offset = f"{world.seq}_0"
        return json_response([*messages, UP_TO_DATE], 200, self._headers(offset, live=False))

    def _changes(self, after: int) -> tuple[list[Message], int]:
        world = self.ctx.world
        with world.lock:
            messages: list[Message] = []
            for change in world.changes_after(after):
                run = world.runs.get(change.run_id)
                if run is None or not self.matches(run):
                    continue
                # Updates carry the key plus the columns that changed (Electric's default).
                columns = (
                    change.changed | {"id"} if change.operation == "update" else change.row.keys()
                )
                messages.append(
                    {
                        "key": _row_key(change.run_id),
                        "value": self._value(change.row, frozenset(columns)),
                        "headers": {"operation": change.operation},
                    }
                )
            return messages, world.seq

    async def respond(self) -> AnyResponse:
        query = self.request.query
        offset_raw = query.get("offset", "-1")
        if offset_raw == "-1":
            return self.snapshot()
        try:
            after = int(offset_raw.split("_", 1)[0])
        except ValueError:
            return error(400, f"Invalid offset: {offset_raw}")
        given_handle = query.get("shape_id" if self.legacy else "handle")
        world = self.ctx.world
        if given_handle != self.handle or not world.oldest_seq <= after <= world.seq:
            return self.must_refetch()
        live = query.get("live") == "true"
        deadline = time.monotonic() + self.ctx.config.live_poll_seconds
        while True:
            version = world.version
            messages, head = self._changes(after)
            if _handle(self.ctx, self.name) != self.handle:
                return self.must_refetch()  # handles were reset while we waited
            remaining = deadline - time.monotonic()
            if messages or not live or remaining <= 0:
                return json_response(
                    [*messages, UP_TO_DATE], 200, self._headers(f"{head}_0", live=live)
                )
            await world.wait_for_change(version, remaining)


async def run_feed(ctx: Context, request: Request) -> AnyResponse:
    run = ctx.world.find_run(request.params["runId"])
    if run is None:
        return error(404, "Not found")
    if not request.caller.allows(
        "read:runs",
        f"read:runs:{run.friendly_id}",
        "read:all",
        *(f"read:tags:{t}" for t in run.tags),
    ):
        return error(
            403, "Unauthorized", code="unauthorized", param="access_token", type="authorization"
        )
    run_id = run.id
    world = ctx.world

    def members() -> list[Run]:
        found = world.runs.get(run_id)
        return [] if found is None else [found]

    shape = _Shape(ctx, request, f"run:{run_id}", lambda r: r.id == run_id, members)
    return await shape.respond()


async def tagged_runs_feed(ctx: Context, request: Request) -> AnyResponse:
    tags = [t.strip() for t in request.query.get("tags", "").split(",") if t.strip()]
    if any(ch in tag for tag in tags for ch in '\\"') or any(
        ord(ch) < 32 for tag in tags for ch in tag
    ):
        return error(400, "Invalid tags")
    period = parse_duration(request.query.get("createdAt", "24h"))
    if period is None:
        return error(400, "Invalid createdAt")
    period = min(period, MAX_CREATED_AT)
    if not request.caller.can_read():
        return error(
            403, "Unauthorized", code="unauthorized", param="access_token", type="authorization"
        )
    clock = ctx.clock
    wanted = set(tags)

    world = ctx.world

    def matches(run: Run, since: datetime | None = None) -> bool:
        # ALL tags (Postgres @>), unlike the REST list; createdAt relative to now, capped at 24 h.
        since = clock.now() - period if since is None else since
        return wanted <= set(run.tags) and run.created_at > since

    def members() -> list[Run]:
        # Walk the rarest wanted tag's runs from the window's start (keys order by createdAt's
        # milliseconds), not every run in the world.
        since = clock.now() - period
        sources = [world.run_sources(None, [tag]) for tag in wanted] or [
            world.run_sources(None, None)
        ]
        if not all(sources):
            return []  # a tag no run has ever carried
        rarest = min((found[0] for found in sources), key=len)
        found = []
        for _, run_id in rarest.ascending((unix_ms(since), ""), inclusive=True, highest=None):
            world.examined += 1
            run = world.runs[run_id]
            if matches(run, since):
                found.append(run)
        return found

    shape = f"tags:{','.join(sorted(wanted))}:{int(period.total_seconds())}"
    return await _Shape(ctx, request, shape, matches, members).respond()
