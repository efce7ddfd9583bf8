"""Realtime streams over SSE, v1 (Redis) and v2 (S2) formats (docs/trigger-v4.md, "Realtime")."""

from __future__ import annotations

import json

import pytest

from approvals.trigger import (
    AsyncTriggerClient,
    NotFoundError,
    RetryPolicy,
    StreamEvent,
    TransportError,
    TriggerClient,
)
from approvals.trigger.sse import SSEParser

from .conftest import SECRET, Sleeps
from .scripted_server import Reply, ScriptedServer, drop, json_reply, sse_reply

TOKEN_1 = {"id": "waitpoint_1", "description": "Ship it", "createdAt": "2025-08-01T10:00:00Z"}
TOKEN_2 = {"id": "waitpoint_2", "description": "Second"}


def v1_body(*events: tuple[str, object]) -> str:
    parts = [": ping\n\n"]
    for event_id, data in events:
        parts.append(f"id: {event_id}\ndata: {json.dumps(data)}\n\n")
    return "".join(parts)


def v2_body(*records: tuple[int, object], command: bool = False) -> str:
    items = []
    if command:
        items.append({"seq_num": 0, "timestamp": 1, "body": "", "headers": [["", "fence"]]})
    for seq, data in records:
        body = json.dumps({"data": data, "id": f"chunk-{seq}"})
        items.append({"seq_num": seq, "timestamp": 1, "body": body, "headers": []})
    return f"event: batch\ndata: {json.dumps({'records': items, 'tail': {}})}\n\n"


def test_parser_handles_any_chunking_and_line_endings() -> None:
    raw = b": hi\r\nid: 7\r\nevent: x\r\ndata: a\r\ndata: b\r\n\r\ndata: c\n\n"
    whole = SSEParser().feed(raw)
    parser = SSEParser()
    pieces = [m for i in range(len(raw)) for m in parser.feed(raw[i : i + 1])]
    assert whole == pieces
    assert [(m.event, m.data, m.id) for m in whole] == [("x", "a\nb", "7"), ("message", "c", "7")]


def test_fetch_stream_v1_reads_chunks_and_tokens(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    update = {**TOKEN_1, "description": "Ship it now"}
    server.add(sse_reply(v1_body(("1-0", TOKEN_1), ("2-0", TOKEN_2), ("3-0", update), ("4-0", 5))))
    snapshot = trigger.runs.fetch_stream("run_abc", "wait-tokens")
    request = server.requests[0]
    assert request.path == "/realtime/v1/streams/run_abc/wait-tokens"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["timeout-seconds"] == "1"
    assert "last-event-id" not in request.headers
    assert snapshot.chunks == (TOKEN_1, TOKEN_2, update, 5)
    assert snapshot.last_event_id == "4-0"
    assert [t["id"] for t in snapshot.tokens] == ["waitpoint_1", "waitpoint_2"]
    assert snapshot.tokens[0]["description"] == "Ship it now"


def test_fetch_stream_v2_uses_seq_num_and_skips_command_records(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    body = v2_body((1, TOKEN_1), (2, TOKEN_2), command=True) + ": ping\n\n"
    server.add(sse_reply(body, {"X-Stream-Version": "v2"}))
    snapshot = trigger.runs.fetch_stream("run_abc", "wait-tokens", last_event_id="0")
    assert server.requests[0].headers["last-event-id"] == "0"
    assert snapshot.chunks == (TOKEN_1, TOKEN_2)
    assert snapshot.last_event_id == "2"


def test_fetch_stream_of_an_unknown_run_is_not_found(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply({"error": "Not found"}, 404))
    with pytest.raises(NotFoundError):
        trigger.runs.fetch_stream("run_missing", "wait-tokens")


def test_read_stream_reconnects_with_last_event_id(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(
        sse_reply(v1_body(("1-0", TOKEN_1))),  # window ends cleanly: reconnect
        drop(),  # connection lost: back off, reconnect
        Reply(
            headers={"Content-Type": "text/event-stream"},
            chunks=[b"id: 2-0\nda", b'ta: {"id": "waitpoint_2"}\n\n'],
        ),
    )
    stream = trigger.runs.read_stream("run_abc", "wait-tokens", timeout_seconds=30)
    events = [next(stream), next(stream)]
    stream.close()
    assert events == [StreamEvent("1-0", TOKEN_1), StreamEvent("2-0", {"id": "waitpoint_2"})]
    assert [r.headers.get("last-event-id") for r in server.requests] == [None, "1-0", "1-0"]
    assert server.requests[0].headers["timeout-seconds"] == "30"


def test_read_stream_ends_at_its_overall_timeout(server: ScriptedServer) -> None:
    server.add(sse_reply(v1_body(("1-0", 1))))
    server.fallback = sse_reply(": ping\n\n")  # later windows bring nothing
    policy = RetryPolicy(min_delay=0.02, max_delay=0.02)  # really waits between empty windows
    with TriggerClient(SECRET, server.url, retry=policy) as c:
        events = list(c.runs.read_stream("run_abc", "s", timeout_seconds=0.1))
    assert [e.data for e in events] == [1]
    assert 2 <= len(server.requests) <= 10
    assert server.requests[-1].headers["last-event-id"] == "1-0"


def test_read_stream_raises_a_non_retryable_answer(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply({"error": "Not found"}, 404))
    with pytest.raises(NotFoundError):
        list(trigger.runs.read_stream("run_abc", "s", timeout_seconds=5))


def test_read_stream_gives_up_after_the_failure_limit(server: ScriptedServer) -> None:
    policy = RetryPolicy(min_delay=0.001, sleep=Sleeps(), realtime_max_failures=2)
    server.add(drop(), json_reply({}, 503), drop())
    with TriggerClient(SECRET, server.url, retry=policy) as c, pytest.raises(TransportError):
        list(c.runs.read_stream("run_abc", "s", timeout_seconds=30))
    assert len(server.requests) == 3


async def test_async_read_stream_v2_resumes_after_seq_num(
    server: ScriptedServer, aclient: AsyncTriggerClient
) -> None:
    v2 = {"X-Stream-Version": "v2"}
    server.add(sse_reply(v2_body((5, "a")), v2), sse_reply(v2_body((6, "b"), command=True), v2))
    received: list[StreamEvent] = []
    async for event in aclient.runs.read_stream("run_abc", "out", timeout_seconds=30):
        received.append(event)
        if len(received) == 2:
            break
    assert received == [StreamEvent("5", "a"), StreamEvent("6", "b")]
    assert server.requests[1].headers["last-event-id"] == "5"


async def test_async_fetch_stream(server: ScriptedServer, aclient: AsyncTriggerClient) -> None:
    server.add(sse_reply(v1_body(("9-0", TOKEN_1))))
    snapshot = await aclient.runs.fetch_stream("run_abc", "wait-tokens", timeout_seconds=3)
    assert snapshot.tokens == (TOKEN_1,)
    assert server.requests[0].headers["timeout-seconds"] == "3"
