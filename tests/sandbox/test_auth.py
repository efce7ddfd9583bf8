from __future__ import annotations

import httpx

from approvals.sandbox import DEFAULT_SECRET_KEY
from tests.sandbox.conftest import start_run


def test_missing_authorization_header_gets_problem_json_401(any_client: httpx.Client) -> None:
    response = any_client.get("/api/v1/runs", headers={"Authorization": ""})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Unauthorized"
    assert body["error"] == "No authorization header provided"


def test_wrong_secret_key_is_rejected(any_client: httpx.Client) -> None:
    response = any_client.get(
        "/api/v1/runs", headers={"Authorization": "Bearer tr_dev_wrongKey000000000000000"}
    )

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid API Key"}


def test_public_key_is_forbidden(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.get(
        "/api/v1/waitpoints/tokens", headers={"Authorization": "Bearer pk_dev_abc"}
    )

    assert response.status_code == 403
    assert response.json() == {
        "error": "Unauthorized",
        "code": "unauthorized",
        "param": "access_token",
        "type": "authorization",
    }


def test_token_jwt_completes_its_token_but_cannot_list_tokens(sandbox_http: httpx.Client) -> None:
    created = sandbox_http.post("/api/v1/waitpoints/tokens", json={})
    jwt = created.headers["x-trigger-jwt"]
    as_jwt = {"Authorization": f"Bearer {jwt}"}

    listed = sandbox_http.get("/api/v1/waitpoints/tokens", headers=as_jwt)
    completed = sandbox_http.post(
        f"/api/v1/waitpoints/tokens/{created.json()['id']}/complete",
        json={"data": {"ok": True}},
        headers=as_jwt,
    )

    assert listed.status_code == 401
    assert completed.status_code == 200
    assert completed.json() == {"success": True}


def test_token_jwt_cannot_complete_another_token(sandbox_http: httpx.Client) -> None:
    mine = sandbox_http.post("/api/v1/waitpoints/tokens", json={})
    other = sandbox_http.post("/api/v1/waitpoints/tokens", json={}).json()["id"]

    response = sandbox_http.post(
        f"/api/v1/waitpoints/tokens/{other}/complete",
        json={"data": 1},
        headers={"Authorization": f"Bearer {mine.headers['x-trigger-jwt']}"},
    )

    assert response.status_code == 403


def test_realtime_requires_a_valid_key(sandbox_http: httpx.Client) -> None:
    run_id = start_run(sandbox_http)["runId"]

    response = sandbox_http.get(
        f"/realtime/v1/runs/{run_id}", headers={"Authorization": f"Bearer {DEFAULT_SECRET_KEY}x"}
    )

    assert response.status_code == 401
