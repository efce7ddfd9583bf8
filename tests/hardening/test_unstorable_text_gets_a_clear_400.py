"""NUL characters and unpaired surrogates, wherever a reviewer or a script can put them, get
a clear 400 (JSON under /api/), never a 500; and every /api/ answer is JSON."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.models import ApiToken
from tests.factories import make_approval


@pytest.fixture
def browser(reviewer: Any) -> Client:
    client = Client()
    client.force_login(reviewer)
    return client


@pytest.fixture
def api(reviewer: Any) -> Client:
    _token, raw = ApiToken.issue(user=reviewer, name="hostile input")
    return Client(headers={"Authorization": f"Bearer {raw}"})


@pytest.mark.parametrize(
    "path", ["/?task=%00", "/?status=%00", "/?q=a%00b", "/history/?reviewer=%00", "/approvals/%00/"]
)
def test_pages_answer_400_with_the_site_frame(db: None, browser: Client, path: str) -> None:
    response = browser.get(path)

    assert response.status_code == 400
    page = response.content.decode()
    assert "cannot be stored" in page and "Back to the approval queue" in page


def test_a_bulk_action_with_a_nul_id_answers_400(db: None, browser: Client) -> None:
    response = browser.post("/bulk/", {"token_ids": "a\x00b", "verdict": "approve"})

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/approvals?tag=%00", None),
        ("get", "/api/approvals?task=%00", None),
        ("post", "/api/approvals/a%00b/approve", "{}"),
        ("post", "/api/approvals/TOKEN/approve", '{"comments": "\\ud800"}'),
        ("post", "/api/approvals/TOKEN/approve", '{"fields": {"note": "a\\u0000b"}}'),
        ("post", "/api/approvals/TOKEN/reject", '{"reason": "\\udfff"}'),
    ],
)
def test_the_api_answers_400_json(
    db: None, api: Client, method: str, path: str, body: str | None
) -> None:
    approval = make_approval()
    path = path.replace("TOKEN", approval.token_id)

    response = getattr(api, method)(path, data=body, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["success"] is False
    assert "cannot be stored" in response.json()["message"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/nothing-here", 404),
        ("get", "/api/approvals/x/y/z", 404),
        ("get", "/api/approvals/waitpoint_x/approve", 405),
        ("delete", "/api/approvals", 405),
    ],
)
def test_every_api_answer_is_json(
    db: None, api: Client, method: str, path: str, status: int
) -> None:
    response = getattr(api, method)(path)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["success"] is False
