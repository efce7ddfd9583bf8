"""Errors on pages come in the site's frame with a way back to the queue; under /api/ they
stay JSON. (DEBUG is off in tests, so Django's own handlers answer as in production.)"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.template import loader
from django.test import Client

from tests.factories import make_approval

BRAND = "Trigger.dev approvals"


def _branded(body: str) -> bool:
    return 'class="topbar"' in body and BRAND in body and 'href="/"' in body


def _break_the_queue(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr("approvals.views.queries.queue_facets", broken)


def test_an_unknown_approval_gets_the_branded_404(rita: Client) -> None:
    response = rita.get("/approvals/waitpoint_nosuchthing/")
    body = response.content.decode()
    assert response.status_code == 404
    assert _branded(body)
    assert "Back to the approval queue" in body


def test_an_unknown_page_gets_the_branded_404_even_signed_out(client: Client, db: None) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert _branded(response.content.decode())


def test_posting_to_a_read_only_page_gets_a_branded_405_that_keeps_allow(rita: Client) -> None:
    response = rita.post("/")
    body = response.content.decode()
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert _branded(body)
    assert "Back to the approval queue" in body


def test_another_method_on_an_action_gets_the_branded_405(rita: Client) -> None:
    approval = make_approval()
    response = rita.put(f"/approvals/{approval.token_id}/approve")
    assert response.status_code == 405
    assert "POST" in response["Allow"]
    assert _branded(response.content.decode())


def test_the_api_keeps_answering_json_for_unknown_paths_and_methods(rita: Client) -> None:
    missing = rita.get("/api/no/such/thing")
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("application/json")
    wrong_method = rita.put("/api/approvals")
    assert wrong_method.status_code == 405
    assert wrong_method["Content-Type"].startswith("application/json")


def test_a_permission_error_gets_the_branded_403(
    rita: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_the_queue(monkeypatch, PermissionDenied("internal detail"))
    response = rita.get("/")
    body = response.content.decode()
    assert response.status_code == 403
    assert _branded(body)
    assert "internal detail" not in body


def test_a_server_error_gets_the_branded_500(rita: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    _break_the_queue(monkeypatch, RuntimeError("database exploded"))
    rita.raise_request_exception = False
    response = rita.get("/")
    body = response.content.decode()
    assert response.status_code == 500
    assert _branded(body)
    assert "Back to the approval queue" in body
    assert "database exploded" not in body


def test_the_500_page_needs_no_request_context_and_no_database(
    django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch, db: None
) -> None:
    # Whatever broke may be what the context processors need: the page must not use them.
    def broken(request: Any) -> dict[str, Any]:
        raise RuntimeError("context processor down")

    monkeypatch.setattr("approvals.context_processors.trigger_mode", broken)
    with django_assert_num_queries(0):
        body = loader.get_template("500.html").render()
    assert _branded(body)


def test_a_server_error_under_the_api_stays_json(
    rita: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("approvals.api.views.queries.pending_queue", broken)
    rita.raise_request_exception = False
    response = rita.get("/api/approvals")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
