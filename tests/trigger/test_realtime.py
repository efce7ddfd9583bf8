"""Realtime run feeds: the Electric shape protocol (docs/trigger-v4.md, "Realtime"), through a
scripted server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from approvals.trigger import AsyncTriggerClient, AuthenticationError, Run
from approvals.trigger.electric import parse_pg_array
from approvals.trigger.statuses import api_status_from_db_status, sdk_realtime_status

from .conftest import Sleeps
from .scripted_server import Reply, ScriptedServer, drop, json_reply

SCHEMA = json.dumps(
    {
        "id": {"type": "text", "not_null": True},
        "friendlyId": {"type": "text"},
        "status": {"type": "text"},
        "createdAt": {"type": "timestamp"},
        "updatedAt": {"type": "timestamp"},
        "completedAt": {"type": "timestamp"},
        "isTest": {"type": "bool"},
        "number": {"type": "int4"},
        "costInCents": {"type": "float8"},
        "runTags": {"type": "text", "dims": 1},
    }
)
KEY = '"public"."TaskRun"/"cm9internal"'


def row(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": "cm9internal",
        "friendlyId": "run_abc",
        "taskIdentifier": "approve-invoice",
        "status": "WAITING_TO_RESUME",
        "createdAt": "2025-08-01T10:00:00.000",
        "updatedAt": "2025-08-01 10:00:05.5",
        "startedAt": "2025-08-01T10:00:01.000",
        "completedAt": None,
        "number": "1",
        "isTest": "f",
        "costInCents": "0.5",
        "payload": '{"invoiceId":42}',
        "payloadType": "application/json",
        "metadata": '{"waitTokens":[{"id":"waitpoint_1"}]}',
        "metadataType": "application/json",
        "output": None,
        "outputType": "application/json",
        "runTags": '{"needs-approval","invoice:42"}',
        "error": None,
        "realtimeStreams": "{}",
    }
    value.update(overrides)
    return value


def change(operation: str, value: dict[str, Any], key: str = KEY) -> dict[str, Any]:
    return {"key": key, "value": value, "headers": {"operation": operation}}


UP_TO_DATE = {"headers": {"control": "up-to-date"}}


def shape(
    messages: list[Any],
    *,
    handle: str = "h1",
    offset: str = "0_0",
    cursor: str | None = None,
    status: int = 200,
    legacy: bool = False,
) -> Reply:
    headers = {"Content-Type": "application/json", "electric-schema": SCHEMA}
    if legacy:
        headers |= {"electric-shape-id": handle, "electric-chunk-last-offset": offset}
    else:
        headers |= {"electric-handle": handle, "electric-offset": offset}
    if cursor is not None:
        headers["electric-cursor"] = cursor
    return Reply(status=status, body=json.dumps(messages).encode(), headers=headers)


async def take(feed: AsyncIterator[Run], count: int) -> list[Run]:
    runs: list[Run] = []
    async for run in feed:
        runs.append(run)
        if len(runs) == count:
            break
    return runs


async def test_snapshot_then_live_update_merges_partial_rows(
    server: ScriptedServer, aclient: AsyncTriggerClient
) -> None:
    server.add(
        shape([change("insert", row()), UP_TO_DATE], cursor="c1"),
        shape(
            [
                change(
                    "update",
                    {
                        "id": "cm9internal",
                        "status": "COMPLETED_SUCCESSFULLY",
                        "completedAt": "2025-08-01T10:10:00.000",
                        "output": '{"json":{"approved":true}}',
                        "outputType": "application/super+json",
                    },
                ),
                UP_TO_DATE,
            ],
            offset="5_0",
            cursor="c2",
        ),
    )
    runs = [run async for run in aclient.runs.subscribe_to_run("run_abc")]
    first, last = runs
    assert first.id == "run_abc" and first.status == "WAITING"
    assert first.created_at == datetime(2025, 8, 1, 10, 0, tzinfo=UTC)
    assert first.updated_at == datetime(2025, 8, 1, 10, 0, 5, 500000, tzinfo=UTC)
    assert first.tags == ("needs-approval", "invoice:42")
    assert first.is_test is False and first.raw["number"] == 1  # int4, decoded
    assert first.raw["costInCents"] == 0.5
    assert first.payload == {"invoiceId": 42}
    assert first.metadata == {"waitTokens": [{"id": "waitpoint_1"}]}
    # the partial update kept the columns it did not mention
    assert last.status == "COMPLETED" and last.task_identifier == "approve-invoice"
    assert last.tags == first.tags and last.output == {"approved": True}
    assert last.finished_at == datetime(2025, 8, 1, 10, 10, tzinfo=UTC)

    initial, live = server.requests
    assert initial.path == "/realtime/v1/runs/run_abc"
    assert {k: v[0] for k, v in initial.query.items()} == {"log": "full", "offset": "-1"}
    assert {k: v[0] for k, v in live.query.items()} == {
        "log": "full",
        "offset": "0_0",
        "handle": "h1",
        "live": "true",
        "cursor": "c1",
    }
    assert initial.headers["x-trigger-electric-version"] == "1.0.0-beta.1"
    assert initial.headers["x-trigger-api-version"] == "2025-07-16"
    assert initial.headers["authorization"].startswith("Bearer tr_dev_")


async def test_rows_wait_for_up_to_date(
    server: ScriptedServer, aclient: AsyncTriggerClient
) -> None:
    other_key = '"public"."TaskRun"/"other"'
    server.add(
        shape([change("insert", row())], offset="1_0"),  # not up to date yet: nothing emitted
        shape(
            [change("insert", row(id="other", friendlyId="run_other"), other_key), UP_TO_DATE],
            offset="2_0",
        ),
    )
    runs = await take(aclient.runs.subscribe_to_runs_with_tag(["needs-approval", "x"]), 2)
    assert [r.id for r in runs] == ["run_abc", "run_other"]
    first, second = server.requests
    assert first.path == "/realtime/v1/runs"
    assert first.param("tags") == "needs-approval,x" and first.param("createdAt") == "24h"
    assert second.param("offset") == "1_0" and second.param("live") is None


async def test_must_refetch_drops_state_and_restarts(
    server: ScriptedServer, aclient: AsyncTriggerClient
) -> None:
    stale_key = '"public"."TaskRun"/"stale"'
    server.add(
        shape([change("insert", row(id="stale", friendlyId="run_stale"), stale_key)]),
        shape([{"headers": {"control": "must-refetch"}}], handle="h2", status=409),
        shape([change("insert", row()), UP_TO_DATE], handle="h2", offset="0_1"),
    )
    runs = await take(aclient.runs.subscribe_to_runs_with_tag("needs-approval"), 1)
    assert [r.id for r in runs] == ["run_abc"]  # the row from before the refetch is gone
    restart = server.requests[2]
    assert restart.param("offset") == "-1" and restart.param("handle") == "h2"
    assert restart.param("expired_handle") == "h1"


async def test_must_refetch_inside_a_200_body_restarts_too(
    server: ScriptedServer, aclient: AsyncTriggerClient
) -> None:
    server.add(
        shape([change("insert", row()), UP_TO_DATE], cursor="c1"),
        shape([{"headers": {"control": "must-refetch"}}], handle="h9"),
        shape([change("insert", row(status="EXECUTING")), UP_TO_DATE], handle="h9"),
    )
    runs = await take(aclient.runs.subscribe_to_run("run_abc", stop_on_completion=False), 2)
    assert [r.status for r in runs] == ["WAITING", "EXECUTING"]
    assert server.requests[2].param("offset") == "-1"
    assert server.requests[2].param("live") is None


async def test_legacy_header_names_are_accepted(
    server: ScriptedServer, aclient: AsyncTriggerClient
) -> None:
    server.add(
        shape([change("insert", row()), UP_TO_DATE], handle="s1", offset="3_0", legacy=True),
        shape([change("update", {"status": "EXECUTING"}), UP_TO_DATE], legacy=True, handle="s1"),
    )
    runs = await take(aclient.runs.subscribe_to_run("run_abc"), 2)
    assert [r.status for r in runs] == ["WAITING", "EXECUTING"]
    assert server.requests[1].param("handle") == "s1"
    assert server.requests[1].param("offset") == "3_0"


async def test_connection_errors_and_5xx_reconnect_with_backoff(
    server: ScriptedServer, aclient: AsyncTriggerClient, sleeps: Sleeps
) -> None:
    server.add(
        drop(),
        json_reply({"error": "upstream"}, 503),
        json_reply({"error": "Too many concurrent requests"}, 429),
        shape([change("insert", row()), UP_TO_DATE]),
    )
    runs = await take(aclient.runs.subscribe_to_run("run_abc"), 1)
    assert runs[0].id == "run_abc"
    assert sleeps.delays == [0.001, 0.0016, pytest.approx(0.00256)]
    assert all(r.param("offset") == "-1" for r in server.requests)


async def test_an_auth_failure_is_raised_not_swallowed(
    server: ScriptedServer, aclient: AsyncTriggerClient
) -> None:
    server.add(json_reply({"error": "Invalid API key"}, 401))
    with pytest.raises(AuthenticationError):
        await take(aclient.runs.subscribe_to_run("run_abc"), 1)
    assert len(server.requests) == 1


def test_postgres_array_literals() -> None:
    assert parse_pg_array("{}") == []
    assert parse_pg_array('{"a","b,c","d\\"e"}') == ["a", "b,c", 'd"e']
    assert parse_pg_array("{plain,NULL}") == ["plain", None]


def test_db_statuses_map_to_api_statuses() -> None:
    assert api_status_from_db_status("WAITING_TO_RESUME") == "WAITING"
    assert api_status_from_db_status("PAUSED") == "WAITING"
    assert api_status_from_db_status("PENDING") == "QUEUED"
    assert api_status_from_db_status("RETRYING_AFTER_FAILURE") == "EXECUTING"
    assert api_status_from_db_status("COMPLETED_WITH_ERRORS") == "FAILED"
    assert api_status_from_db_status("INTERRUPTED") == "FAILED"
    assert api_status_from_db_status("WAITING_FOR_DEPLOY") == "PENDING_VERSION"
    assert api_status_from_db_status("WAITING") == "WAITING"  # already an API status
    assert sdk_realtime_status("SOMETHING_NEW") == "QUEUED"
