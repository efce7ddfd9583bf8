"""Every call sends exactly what the real server expects (docs/trigger-v4.md, "Authentication" and
"Runs" and "Waitpoint tokens" and "Realtime")."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from approvals.trigger import API_VERSION, TriggerClient

from .conftest import SECRET
from .samples import page, run_json, token_json
from .scripted_server import ScriptedServer, json_reply


def test_every_rest_call_carries_the_sdk_headers(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply(run_json()))
    trigger.runs.retrieve("run_abc")
    headers = server.requests[0].headers
    assert headers["authorization"] == f"Bearer {SECRET}"
    assert headers["content-type"] == "application/json"
    assert headers["x-trigger-api-version"] == API_VERSION == "2025-07-16"
    assert headers["x-trigger-source"] == "sdk"
    assert headers["trigger-version"].startswith("approvals-python/")
    uuid.UUID(headers["x-trigger-request-idempotency-key"])


def test_each_call_gets_its_own_idempotency_key(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply(run_json()), json_reply(run_json()))
    trigger.runs.retrieve("run_abc")
    trigger.runs.retrieve("run_abc")
    keys = {r.headers["x-trigger-request-idempotency-key"] for r in server.requests}
    assert len(keys) == 2


def test_run_list_uses_the_servers_filter_names(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply(page([run_json()])))
    trigger.runs.list_page(
        status=["WAITING", "DELAYED"],
        tags=["needs-approval", "invoice:42"],
        task_identifier="approve-invoice",
        version=["v1", "v2"],
        created_from=datetime(2025, 8, 1, tzinfo=UTC),
        created_to=1754092800000,
        period="30d",
        is_test=False,
        batch="batch_1",
        schedule="sched_1",
        queue=["task/approve-invoice"],
        machine="small-1x",
        region="us-east-1",
        bulk_action="bulk_1",
        error="error_abc",
        page_size=50,
        after="cursor-1",
    )
    request = server.requests[0]
    assert (request.method, request.path) == ("GET", "/api/v1/runs")
    assert {k: v[0] for k, v in request.query.items()} == {
        "filter[status]": "WAITING,DELAYED",
        "filter[tag]": "needs-approval,invoice:42",
        "filter[taskIdentifier]": "approve-invoice",
        "filter[version]": "v1,v2",
        "filter[createdAt][from]": "1754006400000",
        "filter[createdAt][to]": "1754092800000",
        "filter[createdAt][period]": "30d",
        "filter[isTest]": "false",
        "filter[batch]": "batch_1",
        "filter[schedule]": "sched_1",
        "filter[queue]": "task/approve-invoice",
        "filter[machine]": "small-1x",
        "filter[region]": "us-east-1",
        "filter[bulkAction]": "bulk_1",
        "filter[error]": "error_abc",
        "page[size]": "50",
        "page[after]": "cursor-1",
    }


def test_run_list_sends_no_window_unless_asked(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply(page([])))
    trigger.runs.list_page()
    assert server.requests[0].query == {}


def test_token_list_uses_the_plural_tags_filter(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply(page([token_json()])))
    trigger.waitpoints.list_page(
        status="WAITING",
        tags=["needs-approval", "run:run_1"],
        idempotency_key="k-1",
        period="7d",
        created_from=1754006400000,
        page_size=10,
        before="cm9",
    )
    request = server.requests[0]
    assert request.path == "/api/v1/waitpoints/tokens"
    assert {k: v[0] for k, v in request.query.items()} == {
        "filter[status]": "WAITING",
        "filter[tags]": "needs-approval,run:run_1",
        "filter[idempotencyKey]": "k-1",
        "filter[createdAt][period]": "7d",
        "filter[createdAt][from]": "1754006400000",
        "page[size]": "10",
        "page[before]": "cm9",
    }


def test_retrieve_paths(server: ScriptedServer, trigger: TriggerClient) -> None:
    server.add(json_reply(run_json()), json_reply(token_json()))
    trigger.runs.retrieve("run_abc")
    trigger.waitpoints.retrieve("waitpoint_abc")
    assert [r.path for r in server.requests] == [
        "/api/v3/runs/run_abc",
        "/api/v1/waitpoints/tokens/waitpoint_abc",
    ]


def test_create_token_sends_only_given_fields_and_reads_the_jwt_header(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(
        json_reply(
            {"id": "waitpoint_1", "isCached": True, "url": "https://x/cb"},
            headers={"x-trigger-jwt": "jwt.value.here"},
        ),
        json_reply({"id": "waitpoint_2", "isCached": False, "url": "https://x/cb2"}),
    )
    created = trigger.waitpoints.create(
        idempotency_key="approval-42", idempotency_key_ttl="1h", timeout="24h", tags="approval"
    )
    bare = trigger.waitpoints.create()
    assert (created.id, created.url, created.is_cached) == ("waitpoint_1", "https://x/cb", True)
    assert created.public_access_token == "jwt.value.here"
    assert bare.public_access_token is None
    first, second = server.requests
    assert (first.method, first.path) == ("POST", "/api/v1/waitpoints/tokens")
    assert first.json() == {
        "idempotencyKey": "approval-42",
        "idempotencyKeyTTL": "1h",
        "timeout": "24h",
        "tags": ["approval"],
    }
    assert second.body == b"{}"  # the server refuses an empty body
    assert int(second.headers["content-length"]) == 2


def test_complete_wraps_the_output_in_data(server: ScriptedServer, trigger: TriggerClient) -> None:
    server.add(json_reply({"success": True}))
    trigger.waitpoints.complete("waitpoint_abc", {"approved": True})
    request = server.requests[0]
    assert (request.method, request.path) == (
        "POST",
        "/api/v1/waitpoints/tokens/waitpoint_abc/complete",
    )
    assert request.json() == {"data": {"approved": True}}


def test_callback_posts_the_bare_body_without_the_key(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply({"success": True}))
    url = f"{server.url}/api/v1/waitpoints/tokens/waitpoint_abc/callback/abcdef"
    trigger.waitpoints.complete_via_callback(url, {"approved": True, "via": "callback"})
    request = server.requests[0]
    assert request.path == "/api/v1/waitpoints/tokens/waitpoint_abc/callback/abcdef"
    assert request.json() == {"approved": True, "via": "callback"}
    assert "authorization" not in request.headers
    assert SECRET not in str(request.headers)


def test_ids_are_escaped_in_paths(server: ScriptedServer, trigger: TriggerClient) -> None:
    server.add(json_reply(run_json()))
    trigger.runs.retrieve("run/../x")
    assert server.requests[0].path == "/api/v3/runs/run%2F..%2Fx"


async def test_async_client_sends_the_same_shapes(server: ScriptedServer, aclient: object) -> None:
    from approvals.trigger import AsyncTriggerClient

    assert isinstance(aclient, AsyncTriggerClient)
    server.add(json_reply(page([token_json()])), json_reply({"success": True}))
    tokens = [t async for t in aclient.waitpoints.list(tags="needs-approval")]
    await aclient.waitpoints.complete("waitpoint_abc", None)
    assert [t.id for t in tokens] == ["waitpoint_abc"]
    assert server.requests[0].param("filter[tags]") == "needs-approval"
    assert server.requests[1].json() == {"data": None}
    assert server.requests[1].headers["x-trigger-api-version"] == API_VERSION
