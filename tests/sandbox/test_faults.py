from __future__ import annotations

import time

import httpx
import pytest

from tests.sandbox.conftest import ELECTRIC_HEADERS, start_run


def test_latency_delays_api_answers(sandbox_http: httpx.Client) -> None:
    sandbox_http.post("/_sandbox/faults", json={"latencyMs": 150})

    began = time.monotonic()
    sandbox_http.get("/api/v1/runs")

    assert time.monotonic() - began >= 0.15


def test_error_rate_one_fails_every_api_call(any_client: httpx.Client) -> None:
    any_client.post("/_sandbox/faults", json={"errorRate": 1})

    response = any_client.get("/api/v1/runs")

    assert response.status_code == 500
    assert response.json() == {"error": "Internal Server Error"}
    assert any_client.get("/_sandbox/stats").status_code == 200  # controls are never faulty


def test_rate_limit_answers_429_with_headers(any_client: httpx.Client) -> None:
    any_client.post("/_sandbox/faults", json={"rateLimit": 2})

    answers = [any_client.get("/api/v1/runs") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    limited = answers[-1]
    assert limited.headers["content-type"] == "application/problem+json"
    body = limited.json()
    assert body["title"] == "Rate Limit Exceeded"
    assert body["limit"] == 2
    assert body["error"].startswith("Rate limit exceeded 0/2 requests remaining.")
    assert limited.headers["x-ratelimit-limit"] == "2"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert int(limited.headers["x-ratelimit-reset"]) > time.time() * 1000
    assert "retry-after" not in limited.headers


def test_callback_and_realtime_are_not_rate_limited(sandbox_http: httpx.Client) -> None:
    started = start_run(sandbox_http)
    token = sandbox_http.get(f"/api/v1/waitpoints/tokens/{started['tokenId']}").json()
    sandbox_http.post("/_sandbox/faults", json={"rateLimit": 1})
    sandbox_http.get("/api/v1/runs")

    feed = sandbox_http.get(
        f"/realtime/v1/runs/{started['runId']}", params={"offset": "-1"}, headers=ELECTRIC_HEADERS
    )
    callback = sandbox_http.post(httpx.URL(token["url"]).path, json={"ok": True})

    assert sandbox_http.get("/api/v1/runs").status_code == 429
    assert feed.status_code == 200
    assert "x-ratelimit-limit" not in feed.headers
    assert callback.status_code == 200


def test_every_api_answer_carries_rate_limit_headers(sandbox_http: httpx.Client) -> None:
    first = sandbox_http.get("/api/v1/runs")
    second = sandbox_http.get("/api/v1/waitpoints/tokens")

    assert first.headers["x-ratelimit-limit"] == "1500"
    assert (
        int(second.headers["x-ratelimit-remaining"])
        == int(first.headers["x-ratelimit-remaining"]) - 1
    )


def test_dropped_connection_is_a_transport_error(any_client: httpx.Client) -> None:
    any_client.post("/_sandbox/faults", json={"dropRate": 1})

    with pytest.raises(httpx.RemoteProtocolError):
        any_client.get("/api/v1/runs")

    any_client.post("/_sandbox/faults", json={"dropRate": 0})
    assert any_client.get("/api/v1/runs").status_code == 200


@pytest.mark.parametrize(
    "body", [{"errorRate": 2}, {"latencyMs": -1}, {"rateLimit": "lots"}, {"bogus": 1}]
)
def test_bad_fault_settings_are_400(sandbox_http: httpx.Client, body: dict[str, object]) -> None:
    response = sandbox_http.post("/_sandbox/faults", json=body)

    assert response.status_code == 400
    assert "error" in response.json()
