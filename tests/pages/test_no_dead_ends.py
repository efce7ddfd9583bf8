"""Signing in again, reloading an action's URL, or a filter with empty fields never ends on a
page that is not one: htmx requests from a signed-out user are sent to sign in (``HX-Redirect``)
with ``next`` set to the page they were on, never to a POST-only URL; a GET of a POST-only URL
shows its page; filter URLs carry no empty parameters."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from tests.factories import make_approval


def _next(location: str) -> str:
    parts = urlsplit(location)
    assert parts.path == "/accounts/login/"
    return parse_qs(parts.query)["next"][0]


HTMX = {"HX-Request": "true"}


def _htmx_from(page: str) -> dict[str, str]:
    """The headers of an htmx request sent from ``page`` (htmx names it in HX-Current-URL)."""
    return {**HTMX, "HX-Current-URL": f"http://testserver{page}"}


# --- htmx requests of a signed-out user ----------------------------------------------------


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_a_signed_out_htmx_decision_is_sent_to_sign_in_and_back_to_the_detail_page(
    client: Client, db: None, action: str
) -> None:
    approval = make_approval()
    page = f"/approvals/{approval.token_id}/"
    response = client.post(
        f"{page}{action}", {"comment": "typed before expiry"}, headers=_htmx_from(page)
    )
    assert response.status_code == 200
    assert _next(response["HX-Redirect"]) == page
    assert response.content == b""  # nothing for htmx to swap into the panel
    assert "Location" not in response
    assert not approval.votes.exists()


def test_the_next_page_is_the_one_asked_for_with_its_query(client: Client, db: None) -> None:
    # A filter or page asked for while signed out: that is where the reviewer was going (a
    # search typed at that moment must not be lost on the way through sign-in).
    response = client.get("/?q=stripe&page=2", headers=_htmx_from("/?q=stripe&task=deploy"))
    assert _next(response["HX-Redirect"]) == "/?q=stripe&page=2"


def test_a_post_sent_while_signed_out_goes_back_to_the_page_with_a_message(
    client: Client, db: None
) -> None:
    approval = make_approval()
    page = f"/approvals/{approval.token_id}/"
    response = client.post(f"{page}approve", {"comment": "x"}, headers=_htmx_from(page))
    assert _next(response["HX-Redirect"]) == page
    landed = client.get(response["HX-Redirect"], follow=True)
    assert "what you sent was not recorded" in landed.content.decode()


def test_a_bulk_action_goes_back_to_the_filtered_queue(client: Client, db: None) -> None:
    response = client.post(
        "/bulk/?task=deploy", {"verdict": "approve"}, headers=_htmx_from("/?task=deploy&page=2")
    )
    assert _next(response["HX-Redirect"]) == "/?task=deploy&page=2"
    without_header = client.post("/bulk/?task=deploy", {"verdict": "approve"}, headers=HTMX)
    assert _next(without_header["HX-Redirect"]) == "/?task=deploy"


@pytest.mark.parametrize(
    "current",
    [
        "https://evil.example/approvals/x/",
        "//evil.example/",
        "javascript:alert(1)",
        "http://testserver.evil.example/",
    ],
)
def test_a_current_url_from_elsewhere_is_not_trusted(
    client: Client, db: None, current: str
) -> None:
    approval = make_approval()
    response = client.post(
        f"/approvals/{approval.token_id}/approve",
        headers={**HTMX, "HX-Current-URL": current},
    )
    assert _next(response["HX-Redirect"]) == f"/approvals/{approval.token_id}/"


def test_a_current_url_naming_a_post_only_url_is_mapped_to_its_page(
    client: Client, db: None
) -> None:
    approval = make_approval()
    response = client.post("/bulk/", headers=_htmx_from(f"/approvals/{approval.token_id}/reject"))
    assert _next(response["HX-Redirect"]) == f"/approvals/{approval.token_id}/"


def test_without_htmx_the_sign_in_redirect_never_names_a_post_only_url(
    client: Client, db: None
) -> None:
    approval = make_approval()
    response = client.post(f"/approvals/{approval.token_id}/approve")
    assert response.status_code == 302
    assert _next(response["Location"]) == f"/approvals/{approval.token_id}/"
    queue = client.get("/?task=deploy")
    assert _next(queue["Location"]) == "/?task=deploy"


def test_the_api_still_answers_401_json_to_htmx_requests(client: Client, db: None) -> None:
    response = client.get("/api/approvals", headers=_htmx_from("/"))
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "HX-Redirect" not in response


def test_signing_out_still_lands_on_the_plain_sign_in_page(rita: Client) -> None:
    response = rita.post("/accounts/logout/", headers=_htmx_from("/"))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"


# --- GET of a POST-only URL --------------------------------------------------------------


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_reloading_a_decision_url_shows_the_approval(rita: Client, action: str) -> None:
    approval = make_approval()
    response = rita.get(f"/approvals/{approval.token_id}/{action}", follow=True)
    assert response.redirect_chain == [(f"/approvals/{approval.token_id}/", 302)]
    assert response.status_code == 200
    assert not approval.votes.exists()


def test_reloading_the_bulk_url_shows_the_filtered_queue(rita: Client) -> None:
    response = rita.get("/bulk/?task=deploy", follow=True)
    assert response.redirect_chain == [("/?task=deploy", 302)]
    assert response.status_code == 200
    assert rita.head("/bulk/").status_code == 302


def test_signing_in_with_next_naming_an_action_ends_on_its_page(
    client: Client, reviewer: Any
) -> None:
    approval = make_approval()
    response = client.post(
        f"/accounts/login/?next=/approvals/{approval.token_id}/approve",
        {"username": "rita", "password": "pw-rita-1234"},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1] == (f"/approvals/{approval.token_id}/", 302)
    assert approval.description in response.content.decode()


def test_a_signed_out_reload_of_an_action_asks_to_sign_in_for_its_page(
    client: Client, db: None
) -> None:
    approval = make_approval()
    response = client.get(f"/approvals/{approval.token_id}/approve", follow=True)
    assert _next(response.redirect_chain[-1][0]) == f"/approvals/{approval.token_id}/"


# --- Filter URLs without empty parameters ---------------------------------------------


def test_a_queue_filter_with_empty_fields_redirects_to_the_clean_url(rita: Client) -> None:
    response = rita.get("/?q=&task=&tag=ops&status=&order=newest")
    assert response.status_code == 302
    assert response["Location"] == "/?tag=ops&order=newest"


def test_a_history_filter_with_only_empty_fields_redirects_to_the_bare_page(
    rita: Client,
) -> None:
    response = rita.get("/history/?verdict=&reviewer=&task=")
    assert response.status_code == 302
    assert response["Location"] == "/history/"


def test_a_clean_filter_url_is_answered_directly(rita: Client) -> None:
    assert rita.get("/?tag=ops").status_code == 200
    assert rita.get("/history/?verdict=approve").status_code == 200
