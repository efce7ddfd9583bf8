"""Requests Django refuses before any API view runs (too many fields, a broken multipart body,
an unknown Host) and errors raised outside the views still answer JSON under /api/; pages keep
the site's own 400 page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.input_guard import UnstorableInputMiddleware
from approvals.models import ApiToken
from tests.factories import make_approval

MANY_FIELDS = "&".join(f"f{i}=1" for i in range(1500))


@pytest.fixture
def api(reviewer: Any) -> Client:
    _token, raw = ApiToken.issue(user=reviewer, name="malformed requests")
    return Client(headers={"Authorization": f"Bearer {raw}"}, raise_request_exception=False)


def _assert_json_failure(response: Any, status: int) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["success"] is False and body["message"] and body["code"]


@pytest.mark.parametrize("path", ["/api/approvals", "/api/nothing-here"])
def test_a_query_with_too_many_fields_is_a_json_400(db: None, api: Client, path: str) -> None:
    _assert_json_failure(api.get(f"{path}?{MANY_FIELDS}"), 400)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", MANY_FIELDS),
        ("multipart/form-data", "no boundary"),
        ("multipart/form-data; boundary=x", "--x\r\nbroken"),
    ],
)
def test_a_body_django_cannot_parse_is_a_json_400(
    db: None, api: Client, content_type: str, body: str
) -> None:
    approval = make_approval()

    response = api.post(
        f"/api/approvals/{approval.token_id}/approve", data=body, content_type=content_type
    )

    _assert_json_failure(response, 400)


def test_an_unknown_host_is_a_json_400(db: None, api: Client) -> None:
    _assert_json_failure(api.get("/api/approvals", headers={"host": "evil.example"}), 400)


def test_an_error_outside_the_api_views_is_a_json_500(
    db: None, api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(request: Any) -> None:
        raise RuntimeError("a middleware failed")

    monkeypatch.setattr(UnstorableInputMiddleware, "_first_unstorable", staticmethod(broken))

    _assert_json_failure(api.get("/api/approvals"), 500)


def test_a_page_with_too_many_fields_keeps_the_site_frame(db: None, reviewer: Any) -> None:
    browser = Client()
    browser.force_login(reviewer)

    response = browser.get(f"/?{MANY_FIELDS}")

    assert response.status_code == 400
    assert "Back to the approval queue" in response.content.decode()
