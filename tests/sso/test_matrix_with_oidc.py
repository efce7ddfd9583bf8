"""The authorization matrix's sign-in answers, with OpenID Connect configured: every URL that
sends anonymous visitors to sign in sends them to the provider's door instead, and back to the
URL they asked for (tests/auth/test_authorization_matrix.py has the rest of the matrix)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from approvals.auth.accounts import SSO_BACKEND
from tests.auth.test_authorization_matrix import (
    SIGN_IN,
    TABLE,
    Role,
    build_world,
    fresh_approval,
    sample_url,
)

PASSWORD_BACKEND = "approvals.auth.passwords.PasswordBackend"
SENT_TO_SIGN_IN = [route for route, entry in TABLE.items() if entry.get[Role.ANONYMOUS] == SIGN_IN]


@pytest.fixture
def oidc_on(settings: Any) -> None:
    settings.OIDC_ISSUER = "https://login.example.com/realms/corp"
    settings.OIDC_CLIENT_ID = "dashboard"
    settings.OIDC_CLIENT_SECRET = "secret"
    settings.SSO_OIDC = settings.SSO_ENABLED = True
    settings.LOGIN_URL = "oidc_authenticate"


def test_the_matrix_has_urls_that_send_anonymous_visitors_to_sign_in() -> None:
    assert len(SENT_TO_SIGN_IN) >= 5, SENT_TO_SIGN_IN


@pytest.mark.parametrize("route", SENT_TO_SIGN_IN)
def test_anonymous_visitors_go_to_the_provider_and_back(
    db: None, oidc_on: None, route: str
) -> None:
    url = sample_url(route, TABLE[route], build_world(), fresh_approval())
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/oidc/authenticate/?next={quote(url, safe='/')}"


def test_htmx_requests_go_to_the_provider_and_back_too(db: None, oidc_on: None) -> None:
    response = Client(headers={"HX-Request": "true"}).get("/history/?q=x")
    assert response["HX-Redirect"] == "/oidc/authenticate/?next=/history/%3Fq%3Dx"


@pytest.mark.parametrize(
    "path", ["/accounts/login/?next=/history/", "/admin/login/?next=/history/"]
)
def test_the_sign_in_pages_go_to_the_provider(db: None, oidc_on: None, path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == "/oidc/authenticate/?next=/history/"


def test_a_password_session_from_before_sso_ends_with_it(
    db: None, oidc_on: None, outsider: Any
) -> None:
    client = Client()
    client.force_login(outsider, backend=PASSWORD_BACKEND)
    assert client.get("/history/")["Location"] == "/oidc/authenticate/?next=/history/"


def test_a_signed_in_user_who_is_not_an_admin_is_refused_the_admin(
    db: None, oidc_on: None, outsider: Any
) -> None:
    client = Client()
    client.force_login(outsider, backend=SSO_BACKEND)  # signed in through the provider
    assert client.get("/admin/login/?next=/admin/").status_code == 403
    assert client.get("/admin/", follow=True).status_code == 403


def test_a_password_kept_by_the_provider_cannot_be_changed_here(
    db: None, oidc_on: None, outsider: Any
) -> None:
    client = Client()
    client.force_login(outsider, backend=SSO_BACKEND)
    refused = client.get("/accounts/password_change/")
    assert refused.status_code == 403
    assert b"change it there" in refused.content
