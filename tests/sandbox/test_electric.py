from __future__ import annotations

import json
import threading

import httpx

from tests.sandbox.conftest import AUTH, ELECTRIC_HEADERS, start_run

TOKENS = "/api/v1/waitpoints/tokens"


def _rows(response: httpx.Response) -> list[dict[str, object]]:
    return [m for m in response.json() if "key" in m]


def test_first_request_returns_inserts_then_up_to_date(any_client: httpx.Client) -> None:
    started = start_run(any_client, tags=["invoice:42", "vip"])

    response = any_client.get(
        f"/realtime/v1/runs/{started['runId']}", params={"offset": "-1"}, headers=ELECTRIC_HEADERS
    )

    assert response.status_code == 200
    messages = response.json()
    assert messages[-1] == {"headers": {"control": "up-to-date"}}
    (row,) = _rows(response)
    assert row["headers"] == {"operation": "insert"}
    value = row["value"]
    assert isinstance(value, dict)
    assert value["friendlyId"] == started["runId"]
    assert value["status"] == "WAITING_TO_RESUME"  # the raw DB status
    assert value["isTest"] == "f"
    assert value["runTags"] == '{"needs-approval","invoice:42","vip"}'
    assert not str(value["createdAt"]).endswith("Z")
    assert json.loads(str(value["metadata"]))["waitTokens"][0]["id"] == started["tokenId"]
    schema = json.loads(response.headers["electric-schema"])
    assert schema["runTags"] == {"type": "text", "dims": 1}
    assert schema["number"]["type"] == "int4"
    assert response.headers["electric-handle"]
    assert response.headers["electric-offset"]


def test_live_request_returns_the_change_after_the_offset(any_client: httpx.Client) -> None:
    started = start_run(any_client)
    url = f"/realtime/v1/runs/{started['runId']}"
    first = any_client.get(url, params={"offset": "-1"}, headers=ELECTRIC_HEADERS)
    params = {
        "offset": first.headers["electric-offset"],
        "handle": first.headers["electric-handle"],
        "live": "true",
    }
    answers: list[httpx.Response] = []
    poll = threading.Thread(
        target=lambda: answers.append(any_client.get(url, params=params, headers=ELECTRIC_HEADERS))
    )

    poll.start()
    any_client.post(f"{TOKENS}/{started['tokenId']}/complete", json={"data": {"approved": True}})
    poll.join(timeout=10)

    (live,) = answers
    assert live.status_code == 200
    assert "electric-cursor" in live.headers
    change = _rows(live)[0]
    assert change["headers"] == {"operation": "update"}
    value = change["value"]
    assert isinstance(value, dict)
    # An update carries the key plus the columns that changed.
    assert set(value) == {"id", "status", "updatedAt"}
    assert value["status"] == "EXECUTING"


def test_live_request_times_out_with_an_empty_up_to_date(sandbox_http: httpx.Client) -> None:
    sandbox_http.post("/_sandbox/config", json={"livePollSeconds": 0.2})
    run_id = start_run(sandbox_http)["runId"]
    first = sandbox_http.get(
        f"/realtime/v1/runs/{run_id}", params={"offset": "-1"}, headers=ELECTRIC_HEADERS
    )

    live = sandbox_http.get(
        f"/realtime/v1/runs/{run_id}",
        params={
            "offset": first.headers["electric-offset"],
            "handle": first.headers["electric-handle"],
            "live": "true",
        },
        headers=ELECTRIC_HEADERS,
    )

    assert live.status_code == 200
    assert live.json() == [{"headers": {"control": "up-to-date"}}]
    assert live.headers["electric-offset"]
    assert live.headers["electric-cursor"]


def test_reset_handles_forces_a_must_refetch(any_client: httpx.Client) -> None:
    run_id = start_run(any_client)["runId"]
    first = any_client.get(
        f"/realtime/v1/runs/{run_id}", params={"offset": "-1"}, headers=ELECTRIC_HEADERS
    )

    any_client.post("/_sandbox/realtime/reset-handles")
    stale = any_client.get(
        f"/realtime/v1/runs/{run_id}",
        params={
            "offset": first.headers["electric-offset"],
            "handle": first.headers["electric-handle"],
        },
        headers=ELECTRIC_HEADERS,
    )

    assert stale.status_code == 409
    assert stale.json() == [{"headers": {"control": "must-refetch"}}]
    assert stale.headers["electric-handle"] != first.headers["electric-handle"]


def test_unknown_handle_gets_must_refetch(sandbox_http: httpx.Client) -> None:
    run_id = start_run(sandbox_http)["runId"]

    response = sandbox_http.get(
        f"/realtime/v1/runs/{run_id}",
        params={"offset": "3_0", "handle": "nope"},
        headers=ELECTRIC_HEADERS,
    )

    assert response.status_code == 409


def test_tags_feed_needs_all_tags(sandbox_http: httpx.Client) -> None:
    both = start_run(sandbox_http, tags=["team:a", "urgent"])["runId"]
    start_run(sandbox_http, tags=["team:a"])

    response = sandbox_http.get(
        "/realtime/v1/runs",
        params={"tags": "team:a,urgent", "offset": "-1"},
        headers=ELECTRIC_HEADERS,
    )

    assert [row["value"]["friendlyId"] for row in _rows(response)] == [both]  # type: ignore[index]


def test_feed_without_electric_version_uses_legacy_header_names(sandbox_http: httpx.Client) -> None:
    run_id = start_run(sandbox_http)["runId"]

    response = sandbox_http.get(
        f"/realtime/v1/runs/{run_id}", params={"offset": "-1"}, headers=AUTH
    )

    assert "electric-shape-id" in response.headers
    assert "electric-chunk-last-offset" in response.headers
    assert "electric-handle" not in response.headers


def test_unknown_run_feed_is_404(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.get(
        "/realtime/v1/runs/run_nope", params={"offset": "-1"}, headers=ELECTRIC_HEADERS
    )

    assert response.status_code == 404
