"""The retry policy mirrors the SDK's (docs/trigger-v4.md, "Errors, rate limits, retries"), plus
the missing-token 500 (docs/trigger-v4.md, "Waitpoint tokens")."""

from __future__ import annotations

import time

import pytest

from approvals.trigger import (
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TransportError,
    TriggerClient,
    TriggerError,
    ValidationError,
)

from .conftest import SECRET, Sleeps
from .samples import page, run_json, token_json
from .scripted_server import Reply, ScriptedServer, drop, json_reply, stall


def test_backoff_follows_the_sdk_schedule() -> None:
    policy = RetryPolicy()
    assert [round(policy.backoff(n), 3) for n in range(1, 5)] == [1.0, 1.6, 2.56, 4.096]
    assert policy.backoff(30) == 30.0


def test_a_5xx_is_retried_with_the_same_idempotency_key(
    server: ScriptedServer, trigger: TriggerClient, sleeps: Sleeps
) -> None:
    server.add(json_reply({"error": "boom"}, 503), json_reply({"error": "boom"}, 502))
    server.add(json_reply(run_json()))
    assert trigger.runs.retrieve("run_abc").id == "run_abc"
    keys = {r.headers["x-trigger-request-idempotency-key"] for r in server.requests}
    assert len(server.requests) == 3 and len(keys) == 1
    assert sleeps.delays == [0.001, 0.0016]


def test_gives_up_after_max_attempts_with_a_server_error(
    server: ScriptedServer, trigger: TriggerClient, sleeps: Sleeps
) -> None:
    server.add(*[json_reply({"error": "Internal Server Error"}, 500)] * 6)
    with pytest.raises(ServerError) as excinfo:
        trigger.runs.list_page()
    assert len(server.requests) == 5
    assert len(sleeps.delays) == 4
    assert excinfo.value.status == 500 and excinfo.value.retryable
    assert "gave up after 5 attempts" in str(excinfo.value)


def test_408_and_409_are_retried(server: ScriptedServer, trigger: TriggerClient) -> None:
    server.add(json_reply({}, 408), json_reply({}, 409), json_reply({"success": True}))
    trigger.waitpoints.complete("waitpoint_abc", {"approved": True})
    assert len(server.requests) == 3
    assert all(r.json() == {"data": {"approved": True}} for r in server.requests)


def test_a_429_waits_until_the_rate_limit_resets(server: ScriptedServer, sleeps: Sleeps) -> None:
    now = 1_754_000_000.0
    policy = RetryPolicy(min_delay=0.001, max_delay=60.0, sleep=sleeps, clock=lambda: now)
    reset_ms = str(int((now + 3.2) * 1000))
    server.add(
        json_reply({"error": "Rate limit exceeded"}, 429, {"x-ratelimit-reset": reset_ms}),
        json_reply(page([])),
    )
    with TriggerClient(SECRET, server.url, retry=policy) as c:
        c.runs.list_page()
    assert sleeps.delays == [pytest.approx(3.2, abs=0.01)]


def test_a_429_wait_is_capped_and_a_past_reset_backs_off(
    server: ScriptedServer, sleeps: Sleeps
) -> None:
    now = 1_754_000_000.0
    policy = RetryPolicy(min_delay=0.5, max_delay=2.0, sleep=sleeps, clock=lambda: now)
    far, past = str(int((now + 500) * 1000)), str(int((now - 5) * 1000))
    server.add(
        json_reply({}, 429, {"x-ratelimit-reset": far}),
        json_reply({}, 429, {"x-ratelimit-reset": past}),
        json_reply(page([])),
    )
    with TriggerClient(SECRET, server.url, retry=policy) as c:
        c.runs.list_page()
    assert sleeps.delays == [2.0, 0.8]


def test_a_persistent_429_raises_rate_limit_error_with_reset_at(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    reset_ms = int(time.time() * 1000) - 1000
    server.add(*[json_reply({"error": "slow down"}, 429, {"x-ratelimit-reset": str(reset_ms)})] * 5)
    with pytest.raises(RateLimitError) as excinfo:
        trigger.runs.list_page()
    assert len(server.requests) == 5
    assert excinfo.value.reset_at is not None
    assert int(excinfo.value.reset_at.timestamp() * 1000) == reset_ms


def test_x_should_retry_false_stops_even_a_5xx(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply({"error": "no"}, 503, {"x-should-retry": "false"}))
    with pytest.raises(ServerError) as excinfo:
        trigger.runs.list_page()
    assert len(server.requests) == 1 and not excinfo.value.retryable


def test_a_404_is_not_retried_unless_the_server_says_so(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply({"error": "Not found"}, 404))
    with pytest.raises(NotFoundError):
        trigger.runs.retrieve("run_missing")
    assert len(server.requests) == 1


def test_a_404_with_x_should_retry_true_is_retried(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply({"error": "Not found"}, 404, {"x-should-retry": "true"}))
    server.add(json_reply(run_json()))
    assert trigger.runs.retrieve("run_late").id == "run_abc"
    assert len(server.requests) == 2


def test_a_400_is_a_validation_error_and_not_retried(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply({"error": "Query Error", "details": [{"path": ["status"]}]}, 400))
    with pytest.raises(ValidationError) as excinfo:
        trigger.runs.list_page(status="NOPE")
    assert len(server.requests) == 1
    assert "Query Error" in str(excinfo.value)
    assert excinfo.value.body["details"] == [{"path": ["status"]}]


def test_a_missing_token_500_is_retried_once_then_not_found(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(*[json_reply({"error": "Internal Server Error"}, 500)] * 5)
    with pytest.raises(NotFoundError) as excinfo:
        trigger.waitpoints.retrieve("waitpoint_gone")
    assert len(server.requests) == 2
    assert "missing waitpoint token as 500" in str(excinfo.value)


def test_a_token_500_that_clears_up_returns_the_token(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply({"error": "Internal Server Error"}, 500), json_reply(token_json()))
    assert trigger.waitpoints.retrieve("waitpoint_abc").status == "WAITING"


def test_a_stalled_server_times_out_as_a_transport_error(server: ScriptedServer) -> None:
    policy = RetryPolicy(max_attempts=2, min_delay=0.001, sleep=Sleeps())
    server.add(stall(), stall())
    started = time.monotonic()
    with (
        TriggerClient(SECRET, server.url, timeout=0.2, retry=policy) as c,
        pytest.raises(TransportError) as excinfo,
    ):
        c.runs.list_page()
    assert time.monotonic() - started < 2
    assert len(server.requests) == 2
    assert "timed out" in str(excinfo.value) and excinfo.value.retryable


def test_a_dropped_connection_is_retried(
    server: ScriptedServer, trigger: TriggerClient, sleeps: Sleeps
) -> None:
    server.add(drop(), Reply(action="truncate", body=b'{"data": ['), json_reply(page([])))
    assert list(trigger.runs.list()) == []
    assert len(server.requests) == 3 and len(sleeps.delays) == 2


def test_connection_refused_gives_up_as_a_transport_error(sleeps: Sleeps) -> None:
    scripted = ScriptedServer().start()
    url = scripted.url
    scripted.stop()  # nothing listens there any more
    policy = RetryPolicy(max_attempts=3, min_delay=0.001, sleep=sleeps)
    with TriggerClient(SECRET, url, retry=policy) as c, pytest.raises(TransportError):
        c.runs.retrieve("run_abc")
    assert len(sleeps.delays) == 2


def test_unclassified_4xx_is_a_plain_trigger_error(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply({"error": "Method not allowed"}, 405))
    with pytest.raises(TriggerError) as excinfo:
        trigger.waitpoints.complete("waitpoint_abc", {})
    assert type(excinfo.value) is TriggerError and excinfo.value.status == 405


async def test_the_async_client_retries_the_same_way(
    server: ScriptedServer, aclient: object, sleeps: Sleeps
) -> None:
    from approvals.trigger import AsyncTriggerClient

    assert isinstance(aclient, AsyncTriggerClient)
    server.add(drop(), json_reply({}, 500), json_reply(run_json()))
    run = await aclient.runs.retrieve("run_abc")
    assert run.id == "run_abc" and len(sleeps.delays) == 2
    keys = {r.headers["x-trigger-request-idempotency-key"] for r in server.requests}
    assert len(keys) == 1
    server.add(*[json_reply({"error": "Internal Server Error"}, 500)] * 2)
    with pytest.raises(NotFoundError):
        await aclient.waitpoints.retrieve("waitpoint_gone")
