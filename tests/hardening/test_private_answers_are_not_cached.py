"""Pages and API answers carry payloads: ``Cache-Control: private, no-store`` on all of them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import make_approval


@pytest.mark.parametrize("path", ["/", "/history/", "/api/approvals"])
def test_pages_and_api_answers_say_private_no_store(db: None, reviewer: Any, path: str) -> None:
    client = Client()
    client.force_login(reviewer)

    response = client.get(path)

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_the_detail_page_says_private_no_store(db: None, reviewer: Any) -> None:
    approval = make_approval(payload={"card": "4111 1111 1111 1111"})
    client = Client()
    client.force_login(reviewer)

    response = client.get(f"/approvals/{approval.token_id}/")

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_static_files_keep_their_own_caching(db: None) -> None:
    response = Client().get("/static/css/app.css")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_the_sign_in_page_is_not_stored_either(db: None) -> None:
    cache_control = Client().get("/accounts/login/")["Cache-Control"]  # Django's never_cache

    assert "private" in cache_control and "no-store" in cache_control
