from __future__ import annotations

import asyncio

import httpx

from approvals.sandbox import AsyncSandboxTransport, SandboxApp, SandboxTransport, create_app
from tests.sandbox.conftest import SDK_HEADERS, internal_run, start_run
from tests.waiting import wait_until


def test_started_run_exists_and_waits_on_its_token(sandbox_http: httpx.Client) -> None:
    started = start_run(sandbox_http)

    run = internal_run(sandbox_http, started["runId"])

    assert run["status"] == "WAITING_TO_RESUME"
    assert run["waitingOnToken"] == started["tokenId"]
    assert sandbox_http.get(f"/api/v1/waitpoints/tokens/{started['tokenId']}").json()["tags"] == [
        "needs-approval",
        f"run:{started['runId']}",
    ]


def test_bad_control_input_is_400(sandbox_http: httpx.Client) -> None:
    assert sandbox_http.post("/_sandbox/runs", json={"timeout": "soon"}).status_code == 400
    assert sandbox_http.post("/_sandbox/clock", json={"advanceSeconds": "x"}).status_code == 400
    assert sandbox_http.post("/_sandbox/config", json={"streamVersion": "v9"}).status_code == 400
    assert sandbox_http.post("/_sandbox/runs", content=b"[1]").json() == {
        "error": "Body must be a JSON object"
    }


def test_frozen_clock_stands_still_until_advanced(sandbox_http: httpx.Client) -> None:
    frozen = sandbox_http.post("/_sandbox/clock", json={"frozen": True}).json()

    later = sandbox_http.get("/_sandbox/clock").json()
    advanced = sandbox_http.post("/_sandbox/clock", json={"advanceSeconds": 3600}).json()

    assert later["now"] == frozen["now"]
    assert advanced["now"] > frozen["now"]
    assert advanced["now"][:13] != frozen["now"][:13]


def test_stats_count_requests_per_route_template(sandbox_http: httpx.Client) -> None:
    run_id = start_run(sandbox_http)["runId"]
    sandbox_http.get("/api/v1/runs")
    sandbox_http.get("/api/v1/runs")
    sandbox_http.get(f"/api/v3/runs/{run_id}")

    stats = sandbox_http.get("/_sandbox/stats").json()

    assert stats["requests"] == {"GET /api/v1/runs": 2, "GET /api/v3/runs/{runId}": 1}
    assert stats["total"] == 3


def test_reset_restores_the_start(demo_client: httpx.Client) -> None:
    before = [r["id"] for r in demo_client.get("/api/v1/runs").json()["data"]]
    start_run(demo_client)
    demo_client.post("/_sandbox/faults", json={"errorRate": 1})

    demo_client.post("/_sandbox/reset")

    assert [r["id"] for r in demo_client.get("/api/v1/runs").json()["data"]] == before
    assert demo_client.get("/_sandbox/stats").json()["total"] == 1


def _demo_fingerprint(seed: int) -> list[tuple[str, str]]:
    """What the demo is made of; not its ids, which no two worlds share
    (tests/sandbox/test_worlds_do_not_reuse_ids.py)."""
    sandbox = create_app(scenario="demo", seed=seed)
    with httpx.Client(
        transport=SandboxTransport(sandbox), base_url="http://x", headers=SDK_HEADERS
    ) as http:
        runs = http.get("/api/v1/runs").json()["data"]
    sandbox.stop()
    return [(r["taskIdentifier"], str(r["tags"])) for r in runs]


def test_demo_is_deterministic_for_a_seed() -> None:
    assert _demo_fingerprint(3) == _demo_fingerprint(3)
    assert _demo_fingerprint(3) != _demo_fingerprint(4)


def test_demo_starts_with_varied_pending_approvals(demo_client: httpx.Client) -> None:
    waiting = demo_client.get("/api/v1/runs", params={"filter[status]": "WAITING"}).json()["data"]

    assert 6 <= len(waiting) <= 8
    assert len({run["taskIdentifier"] for run in waiting}) == 5
    announced = [run["metadata"]["waitTokens"][0] for run in waiting]
    assert all("@" in record["requestedBy"] for record in announced)
    assert any("schema" in record for record in announced)


def test_demo_brings_new_runs_as_time_passes(
    demo_app: SandboxApp, demo_client: httpx.Client
) -> None:
    count = len(demo_app.world.runs)

    demo_client.post("/_sandbox/clock", json={"advanceSeconds": 91})

    wait_until(lambda: len(demo_app.world.runs) > count)


def test_empty_scenario_starts_with_nothing(sandbox_http: httpx.Client) -> None:
    assert sandbox_http.get("/api/v1/runs").json() == {"data": [], "pagination": {}}


def test_works_through_the_async_transport(app: SandboxApp) -> None:
    async def scenario() -> tuple[int, str]:
        async with httpx.AsyncClient(
            transport=AsyncSandboxTransport(app), base_url="http://x", headers=SDK_HEADERS
        ) as http:
            started = (await http.post("/_sandbox/runs", json={"task": "t"})).json()
            await http.post(
                f"/api/v1/waitpoints/tokens/{started['tokenId']}/complete", json={"data": {}}
            )
            stream = await http.get(
                f"/realtime/v1/streams/{started['runId']}/wait-tokens",
                headers={"Timeout-Seconds": "1"},
            )
            token = (await http.get(f"/api/v1/waitpoints/tokens/{started['tokenId']}")).json()
            return stream.status_code, token["status"]

    assert asyncio.run(scenario()) == (200, "COMPLETED")
