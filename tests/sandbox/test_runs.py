from __future__ import annotations

import httpx
import pytest

from approvals.sandbox import SandboxTransport, create_app
from tests.sandbox.conftest import AUTH, SDK_HEADERS, start_run


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [run["id"] for run in response.json()["data"]]


def test_list_is_newest_first_and_pages_with_opaque_cursors(sandbox_http: httpx.Client) -> None:
    started = [start_run(sandbox_http)["runId"] for _ in range(5)]

    first = sandbox_http.get("/api/v1/runs", params={"page[size]": 2})
    cursor = first.json()["pagination"]["next"]
    second = sandbox_http.get("/api/v1/runs", params={"page[size]": 2, "page[after]": cursor})
    third = sandbox_http.get(
        "/api/v1/runs", params={"page[size]": 2, "page[after]": second.json()["pagination"]["next"]}
    )
    back = sandbox_http.get(
        "/api/v1/runs",
        params={"page[size]": 2, "page[before]": second.json()["pagination"]["previous"]},
    )

    assert _ids(first) + _ids(second) + _ids(third) == list(reversed(started))
    assert "previous" not in first.json()["pagination"]
    assert "next" not in third.json()["pagination"]
    assert _ids(back) == _ids(first)
    assert not cursor.startswith("run_")


def test_default_page_size_is_25(sandbox_http: httpx.Client) -> None:
    for _ in range(27):
        start_run(sandbox_http)

    assert len(_ids(sandbox_http.get("/api/v1/runs"))) == 25


@pytest.mark.parametrize("size", ["0", "101", "x"])
def test_page_size_out_of_range_is_a_query_error(sandbox_http: httpx.Client, size: str) -> None:
    response = sandbox_http.get("/api/v1/runs", params={"page[size]": size})

    assert response.status_code == 400
    assert response.json()["error"] == "Query Error"


def test_status_filter_maps_api_values_to_database_statuses(sandbox_http: httpx.Client) -> None:
    waiting = start_run(sandbox_http)["runId"]
    done = start_run(sandbox_http)
    sandbox_http.post(f"/api/v1/waitpoints/tokens/{done['tokenId']}/complete", json={"data": {}})
    sandbox_http.post("/_sandbox/clock", json={"advanceSeconds": 1})

    assert _ids(sandbox_http.get("/api/v1/runs", params={"filter[status]": "WAITING"})) == [waiting]
    assert _ids(sandbox_http.get("/api/v1/runs", params={"filter[status]": "FROZEN"})) == [waiting]
    assert _ids(sandbox_http.get("/api/v1/runs", params={"filter[status]": "COMPLETED"})) == [
        done["runId"]
    ]
    assert (
        len(_ids(sandbox_http.get("/api/v1/runs", params={"filter[status]": "WAITING,COMPLETED"})))
        == 2
    )


def test_invalid_status_filter_is_a_query_error(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.get("/api/v1/runs", params={"filter[status]": "PONDERING"})

    assert response.status_code == 400
    assert response.json()["error"] == "Query Error"
    assert response.json()["details"]


def test_tag_filter_matches_any_tag_and_task_filter_matches_exactly(
    sandbox_http: httpx.Client,
) -> None:
    a = start_run(sandbox_http, tags=["team:a"], task="deploy-production")["runId"]
    b = start_run(sandbox_http, tags=["team:b"])["runId"]
    start_run(sandbox_http, tags=["team:c"])

    by_tag = _ids(sandbox_http.get("/api/v1/runs", params={"filter[tag]": "team:a,team:b"}))
    by_task = _ids(
        sandbox_http.get("/api/v1/runs", params={"filter[taskIdentifier]": "deploy-production"})
    )

    assert sorted(by_tag) == sorted([a, b])
    assert by_task == [a]


def test_filters_for_things_the_sandbox_lacks_match_nothing(sandbox_http: httpx.Client) -> None:
    start_run(sandbox_http)

    assert _ids(sandbox_http.get("/api/v1/runs", params={"filter[batch]": "batch_x"})) == []
    assert _ids(sandbox_http.get("/api/v1/runs", params={"filter[machine]": "large-2x"})) == []
    assert len(_ids(sandbox_http.get("/api/v1/runs", params={"filter[machine]": "small-1x"}))) == 1
    assert len(_ids(sandbox_http.get("/api/v1/runs", params={"filter[isTest]": "false"}))) == 1
    assert _ids(sandbox_http.get("/api/v1/runs", params={"filter[isTest]": "true"})) == []


def test_list_covers_seven_days_unless_a_window_is_given(sandbox_http: httpx.Client) -> None:
    run_id = start_run(sandbox_http, timeout="30d")["runId"]
    sandbox_http.post("/_sandbox/clock", json={"advanceSeconds": 8 * 86400})

    assert _ids(sandbox_http.get("/api/v1/runs")) == []
    assert _ids(sandbox_http.get("/api/v1/runs", params={"filter[createdAt][period]": "10d"})) == [
        run_id
    ]
    assert _ids(sandbox_http.get("/api/v1/runs", params={"filter[createdAt][from]": "0"})) == [
        run_id
    ]


def test_retrieve_missing_run_is_a_retryable_404(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.get("/api/v3/runs/run_doesnotexist")

    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}
    assert response.headers["x-should-retry"] == "true"


def test_retrieve_omits_absent_fields(sandbox_http: httpx.Client) -> None:
    run_id = start_run(sandbox_http)["runId"]

    run = sandbox_http.get(f"/api/v3/runs/{run_id}").json()

    assert run["id"] == run_id
    assert run["payload"] == {"invoiceId": 42}
    assert run["attempts"] == []
    assert run["relatedRuns"] == {"children": []}
    for absent in ("output", "finishedAt", "idempotencyKey", "error", "batchId", "schedule"):
        assert absent not in run
    assert None not in run.values()


@pytest.mark.parametrize(
    ("mode", "headers", "status", "flag"),
    [
        ("v4", SDK_HEADERS, "WAITING", "isWaiting"),
        ("v4", AUTH, "FROZEN", "isExecuting"),
        ("delayed", SDK_HEADERS, "DELAYED", "isQueued"),
        ("executing", SDK_HEADERS, "EXECUTING", "isExecuting"),
    ],
)
def test_waiting_status_depends_on_mode_and_api_version(
    mode: str, headers: dict[str, str], status: str, flag: str
) -> None:
    sandbox = create_app(scenario="empty", status_mode=mode)
    with httpx.Client(
        transport=SandboxTransport(sandbox), base_url="http://sandbox.local", headers=headers
    ) as http:
        run_id = start_run(http)["runId"]
        run = http.get(f"/api/v3/runs/{run_id}").json()
        listed = http.get("/api/v1/runs", params={"filter[status]": status}).json()["data"]
    sandbox.stop()

    assert run["status"] == status
    assert run[flag] is True
    assert [item["id"] for item in listed] == [run_id]


def test_waiting_run_announces_its_token_in_metadata(sandbox_http: httpx.Client) -> None:
    started = start_run(sandbox_http, schema={"type": "object"}, context={"ticket": "T-1"})

    run = sandbox_http.get(f"/api/v3/runs/{started['runId']}").json()

    (announced,) = run["metadata"]["waitTokens"]
    assert announced["id"] == started["tokenId"]
    assert announced["description"] == "Pay invoice 42"
    assert announced["requestedBy"] == "alice@example.com"
    assert announced["schema"] == {"type": "object"}
    assert announced["context"] == {"ticket": "T-1"}
    assert announced["expiresAt"] > announced["createdAt"]
    assert "needs-approval" in run["tags"]
