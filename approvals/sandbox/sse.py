"""``GET /realtime/v1/streams/{runId}/{streamKey}``: Server-Sent Events, v1 or v2
(docs/trigger-v4.md, "Realtime").

The server sends what exists after ``Last-Event-ID``, keeps the body open for
``Timeout-Seconds`` waiting for more, then ends it; a clean end only means "reconnect".
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

from approvals.sandbox.context import Context
from approvals.sandbox.http import AnyResponse, Request, StreamingResponse, error
from approvals.sandbox.models import StreamRecord

PING_SECONDS = 5.0


def _v1_event(record: StreamRecord) -> bytes:
    data = json.dumps(record.data, separators=(",", ":"))
    return f"id: {record.v1_id}\ndata: {data}\n\n".encode()


def _v2_event(records: list[StreamRecord], total: int, now_ms: int) -> bytes:
    batch = {
        "records": [
            {
                "seq_num": record.seq,
                "timestamp": record.timestamp_ms,
                "body": json.dumps(
                    {"data": record.data, "id": record.chunk_id}, separators=(",", ":")
                ),
                "headers": [],
            }
            for record in records
        ],
        "tail": {"seq_num": total, "timestamp": now_ms},
    }
    return f"event: batch\ndata: {json.dumps(batch)}\n\n".encode()


def _start_position(records: list[StreamRecord], last_event_id: str | None, version: str) -> int:
    """Index of the first record to send."""
    if not last_event_id:
        return 0
    if version == "v2":
        # S2 resumes at seq_num + 1.
        return int(last_event_id) + 1 if last_event_id.isdigit() else 0
    for index, record in enumerate(records):
        if record.v1_id == last_event_id:
            return index + 1
    try:
        ms, n = (int(part) for part in last_event_id.split("-", 1))
    except ValueError:
        return 0
    return sum(1 for r in records if (r.timestamp_ms, r.seq) <= (ms, n))


async def stream(ctx: Context, request: Request) -> AnyResponse:
    run = ctx.world.find_run(request.params["runId"])
    if run is None:
        return error(404, "Not found")
    if not request.caller.allows("read:runs", f"read:runs:{run.friendly_id}", "read:all"):
        return error(
            403, "Unauthorized", code="unauthorized", param="access_token", type="authorization"
        )
    raw_timeout = request.headers.get("timeout-seconds")
    if raw_timeout is None:
        timeout = ctx.config.default_stream_timeout_seconds
    else:
        try:
            timeout = float(raw_timeout)
        except ValueError:
            return error(400, "Invalid Timeout-Seconds header")
        if not 1 <= timeout <= 600:
            return error(400, "Timeout-Seconds must be between 1 and 600")
    version = ctx.config.stream_version
    key = request.params["streamKey"]
    world = ctx.world
    position = _start_position(
        world.stream_records(run.id, key), request.headers.get("last-event-id"), version
    )

    async def events() -> AsyncIterator[bytes]:
        nonlocal position
        deadline = time.monotonic() + timeout
        last_sent = time.monotonic()
        while True:
            seen = world.version
            records = world.stream_records(run.id, key)
            fresh = records[position:]
            if fresh:
                position = len(records)
                last_sent = time.monotonic()
                if version == "v2":
                    yield _v2_event(fresh, len(records), int(ctx.clock.time() * 1000))
                else:
                    for record in fresh:
                        yield _v1_event(record)
            now = time.monotonic()
            if now >= deadline:
                return
            if now - last_sent >= PING_SECONDS:
                last_sent = now
                yield b": ping\n\n"
            wait = min(deadline - now, PING_SECONDS - (now - last_sent))
            await world.wait_for_change(seen, max(wait, 0.01))

    headers = [
        ("content-type", "text/event-stream"),
        ("cache-control", "no-cache"),
    ]
    if version == "v2":
        headers.append(("x-stream-version", "v2"))
    return StreamingResponse(200, events(), headers)
