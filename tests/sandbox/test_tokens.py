from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx
import pytest

from approvals.sandbox import DEFAULT_SECRET_KEY
from tests.sandbox.conftest import internal_run, start_run
from tests.waiting import wait_until

TOKENS = "/api/v1/waitpoints/tokens"


def _create(http: httpx.Client, **body: object) -> dict[str, object]:
    response = http.post(TOKENS, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_create_needs_a_body(any_client: httpx.Client) -> None:
    response = any_client.post(TOKENS, content=b"")

    assert response.status_code == 400
    assert response.json() == {"error": "Request body is empty"}


def test_create_with_an_empty_object_gives_a_token_and_a_signed_jwt(
    any_client: httpx.Client,
) -> None:
    response = any_client.post(TOKENS, json={})

    body = response.json()
    assert body["id"].startswith("waitpoint_")
    assert body["isCached"] is False
    jwt = response.headers["x-trigger-jwt"]
    header, claims, signature = jwt.split(".")
    expected = hmac.new(
        DEFAULT_SECRET_KEY.encode(), f"{header}.{claims}".encode(), hashlib.sha256
    ).digest()
    assert base64.urlsafe_b64encode(expected).rstrip(b"=").decode() == signature
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert decoded["scopes"] == [f"write:waitpoints:{body['id']}"]
    assert json.loads(response.headers["x-trigger-jwt-claims"])["pub"] is True


def test_same_idempotency_key_returns_the_cached_token(sandbox_http: httpx.Client) -> None:
    first = _create(sandbox_http, idempotencyKey="invoice-42", timeout="1h")
    second = _create(sandbox_http, idempotencyKey="invoice-42", timeout="1h")

    assert second["id"] == first["id"]
    assert second["isCached"] is True


def test_more_than_ten_tags_is_unprocessable(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.post(TOKENS, json={"tags": [f"t{i}" for i in range(11)]})

    assert response.status_code == 422
    assert response.json() == {
        "error": "Waitpoints can only have 10 tags, you're trying to set 11."
    }


def test_retrieve_encodes_object_and_string_outputs(sandbox_http: httpx.Client) -> None:
    obj = _create(sandbox_http)["id"]
    text = _create(sandbox_http)["id"]
    sandbox_http.post(f"{TOKENS}/{obj}/complete", json={"data": {"approved": True}})
    sandbox_http.post(f"{TOKENS}/{text}/complete", json={"data": "fine"})

    as_object = sandbox_http.get(f"{TOKENS}/{obj}").json()
    as_text = sandbox_http.get(f"{TOKENS}/{text}").json()

    assert as_object["status"] == "COMPLETED"
    assert as_object["outputType"] == "application/super+json"
    assert json.loads(as_object["output"]) == {"json": {"approved": True}}
    assert as_text["outputType"] == "text/plain"
    assert as_text["output"] == "fine"


def test_retrieve_of_a_missing_token_is_a_500_like_the_real_server(
    any_client: httpx.Client,
) -> None:
    response = any_client.get(f"{TOKENS}/waitpoint_nope")

    assert response.status_code == 500
    assert response.json() == {"error": "Internal Server Error"}


def test_completing_twice_succeeds_but_keeps_the_first_output(sandbox_http: httpx.Client) -> None:
    token = _create(sandbox_http)["id"]

    first = sandbox_http.post(f"{TOKENS}/{token}/complete", json={"data": {"by": "first"}})
    second = sandbox_http.post(f"{TOKENS}/{token}/complete", json={"data": {"by": "second"}})

    assert first.json() == second.json() == {"success": True}
    assert json.loads(sandbox_http.get(f"{TOKENS}/{token}").json()["output"]) == {
        "json": {"by": "first"}
    }


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"", 400, "Request body is empty"),
        (b"{nope", 400, "Invalid JSON"),
        (b'{"data":"' + b"x" * (3 * 1024 * 1024) + b'"}', 413, "Request body too large"),
    ],
)
def test_complete_rejects_bad_bodies(
    sandbox_http: httpx.Client, content: bytes, status: int, message: str
) -> None:
    token = _create(sandbox_http)["id"]

    response = sandbox_http.post(f"{TOKENS}/{token}/complete", content=content)

    assert response.status_code == status
    assert response.json() == {"error": message}


def test_complete_of_a_missing_token_is_404(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.post(f"{TOKENS}/waitpoint_nope/complete", json={"data": 1})

    assert response.status_code == 404
    assert response.json() == {"error": "Waitpoint not found"}


def test_approving_resumes_the_run_and_completes_it_with_the_decision(
    any_client: httpx.Client,
) -> None:
    started = start_run(any_client)

    any_client.post(
        f"{TOKENS}/{started['tokenId']}/complete",
        json={"data": {"approved": True, "approvedBy": "bob@example.com"}},
    )

    run = wait_until(
        lambda: (
            (r := any_client.get(f"/api/v3/runs/{started['runId']}").json())["status"]
            == "COMPLETED"
            and r
        )
    )
    assert run["output"] == {
        "status": "approved",
        "decision": {"approved": True, "approvedBy": "bob@example.com"},
    }
    assert run["isSuccess"] is True


def test_rejecting_completes_the_run_as_rejected(sandbox_http: httpx.Client) -> None:
    started = start_run(sandbox_http)

    sandbox_http.post(f"{TOKENS}/{started['tokenId']}/complete", json={"data": {"approved": False}})
    sandbox_http.post("/_sandbox/clock", json={"advanceSeconds": 1})

    assert internal_run(sandbox_http, started["runId"])["output"]["status"] == "rejected"


def test_timeout_fires_when_the_clock_passes_it(sandbox_http: httpx.Client) -> None:
    started = start_run(sandbox_http, timeout="10m")

    sandbox_http.post("/_sandbox/clock", json={"advanceSeconds": 601})
    sandbox_http.post("/_sandbox/clock", json={"advanceSeconds": 1})

    token = sandbox_http.get(f"{TOKENS}/{started['tokenId']}").json()
    assert token["status"] == "TIMED_OUT"
    assert token["outputIsError"] is True
    assert token["outputType"] == "application/json"
    error = json.loads(token["output"])
    assert error["code"] == "TRIGGER_WAITPOINT_TIMEOUT"
    assert error["message"] == f"Waitpoint timed out at {token['timeoutAt']}"
    assert internal_run(sandbox_http, started["runId"])["output"] == {"status": "timed-out"}
    # A late completion changes nothing.
    sandbox_http.post(f"{TOKENS}/{started['tokenId']}/complete", json={"data": {"approved": True}})
    assert sandbox_http.get(f"{TOKENS}/{started['tokenId']}").json()["status"] == "TIMED_OUT"


def test_list_filters_by_status_with_the_single_filter_quirk(sandbox_http: httpx.Client) -> None:
    waiting = _create(sandbox_http, tags=["a"])["id"]
    completed = _create(sandbox_http, tags=["b"])["id"]
    timed_out = _create(sandbox_http, timeout="1m")["id"]
    sandbox_http.post(f"{TOKENS}/{completed}/complete", json={"data": 1})
    sandbox_http.post("/_sandbox/clock", json={"advanceSeconds": 61})

    def ids(**params: str) -> list[str]:
        return [t["id"] for t in sandbox_http.get(TOKENS, params=params).json()["data"]]

    assert ids(**{"filter[status]": "WAITING"}) == [waiting]
    assert ids(**{"filter[status]": "COMPLETED"}) == [completed]
    assert ids(**{"filter[status]": "TIMED_OUT"}) == [timed_out]
    # Two statuses drop the outputIsError condition: TIMED_OUT tokens come back as well.
    assert sorted(ids(**{"filter[status]": "WAITING,COMPLETED"})) == sorted(
        [waiting, completed, timed_out]
    )
    assert sorted(ids(**{"filter[tags]": "a,b"})) == sorted([waiting, completed])
    assert sandbox_http.get(TOKENS, params={"filter[status]": "DONE"}).status_code == 400


def test_list_pages_newest_first_with_internal_id_cursors(sandbox_http: httpx.Client) -> None:
    created = [_create(sandbox_http)["id"] for _ in range(3)]

    first = sandbox_http.get(TOKENS, params={"page[size]": 2}).json()
    rest = sandbox_http.get(
        TOKENS, params={"page[size]": 2, "page[after]": first["pagination"]["next"]}
    ).json()

    assert [t["id"] for t in first["data"] + rest["data"]] == list(reversed(created))
    assert first["pagination"]["next"] == created[1].removeprefix("waitpoint_")
    assert "next" not in rest["pagination"]
    assert "idempotencyKey" not in first["data"][0]  # only user-provided keys are listed


def test_callback_url_completes_with_the_whole_body(any_client: httpx.Client) -> None:
    created = _create(any_client)
    path = httpx.URL(str(created["url"])).path
    internal_id = str(created["id"]).removeprefix("waitpoint_")
    digest = hmac.new(DEFAULT_SECRET_KEY.encode(), internal_id.encode(), hashlib.sha256)
    assert path.endswith(f"/callback/{digest.hexdigest()}")

    response = any_client.post(path, json={"approved": True}, headers={"Authorization": ""})

    assert response.status_code == 200
    assert response.json() == {"success": True}
    token = any_client.get(f"{TOKENS}/{created['id']}").json()
    assert json.loads(token["output"]) == {"json": {"approved": True}}


def test_callback_with_a_wrong_hash_is_rejected(sandbox_http: httpx.Client) -> None:
    token = _create(sandbox_http)["id"]

    wrong = sandbox_http.post(f"{TOKENS}/{token}/callback/{'0' * 64}", json={})
    not_post = sandbox_http.get(f"{TOKENS}/{token}/callback/{'0' * 64}")

    assert wrong.status_code == 401
    assert wrong.json() == {"error": "Invalid URL, hash doesn't match"}
    assert not_post.status_code == 405
    assert not_post.headers["allow"] == "POST"
