from __future__ import annotations

import json

import httpx

from approvals.sandbox import SandboxApp
from tests.sandbox.conftest import start_run


def _events(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if fields:
            events.append(fields)
    return events


def test_v1_stream_sends_records_and_resumes_after_last_event_id(
    any_client: httpx.Client, app: SandboxApp
) -> None:
    started = start_run(any_client)
    run_internal = started["runId"].removeprefix("run_")
    app.world.append_stream(run_internal, "wait-tokens", {"id": "second"})
    url = f"/realtime/v1/streams/{started['runId']}/wait-tokens"

    everything = any_client.get(url, headers={"Timeout-Seconds": "1"})
    events = _events(everything.text)
    resumed = any_client.get(
        url, headers={"Timeout-Seconds": "1", "Last-Event-ID": events[0]["id"]}
    )

    assert everything.status_code == 200
    assert everything.headers["content-type"].startswith("text/event-stream")
    assert [json.loads(e["data"])["id"] for e in events] == [started["tokenId"], "second"]
    assert [json.loads(e["data"])["id"] for e in _events(resumed.text)] == ["second"]


def test_open_stream_delivers_new_records(sandbox_http: httpx.Client, app: SandboxApp) -> None:
    started = start_run(sandbox_http)
    run_internal = started["runId"].removeprefix("run_")
    url = f"/realtime/v1/streams/{started['runId']}/wait-tokens"

    with sandbox_http.stream("GET", url, headers={"Timeout-Seconds": "5"}) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("id: ")
        app.world.append_stream(run_internal, "wait-tokens", {"id": "later"})
        data = next(line for line in lines if line.startswith("data: ") and "later" in line)

    assert json.loads(data.removeprefix("data: ")) == {"id": "later"}


def test_v2_stream_sends_batches_and_resumes_after_seq_num(
    sandbox_http: httpx.Client, app: SandboxApp
) -> None:
    sandbox_http.post("/_sandbox/config", json={"streamVersion": "v2"})
    started = start_run(sandbox_http)
    app.world.append_stream(started["runId"].removeprefix("run_"), "wait-tokens", {"id": "second"})
    url = f"/realtime/v1/streams/{started['runId']}/wait-tokens"

    response = sandbox_http.get(url, headers={"Timeout-Seconds": "1"})
    resumed = sandbox_http.get(url, headers={"Timeout-Seconds": "1", "Last-Event-ID": "0"})

    assert response.headers["x-stream-version"] == "v2"
    (batch,) = _events(response.text)
    assert batch["event"] == "batch"
    records = json.loads(batch["data"])["records"]
    assert [r["seq_num"] for r in records] == [0, 1]
    assert json.loads(records[1]["body"])["data"] == {"id": "second"}
    (later,) = _events(resumed.text)
    assert [r["seq_num"] for r in json.loads(later["data"])["records"]] == [1]


def test_timeout_seconds_out_of_range_is_400(sandbox_http: httpx.Client) -> None:
    run_id = start_run(sandbox_http)["runId"]

    response = sandbox_http.get(
        f"/realtime/v1/streams/{run_id}/wait-tokens", headers={"Timeout-Seconds": "601"}
    )

    assert response.status_code == 400


def test_stream_of_an_unknown_run_is_404(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.get(
        "/realtime/v1/streams/run_nope/wait-tokens", headers={"Timeout-Seconds": "1"}
    )

    assert response.status_code == 404
