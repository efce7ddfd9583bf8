"""Behind a trusted proxy, "Sign out" must end the proxy's session too, or the next request
through it signs the person straight back in: with AUTH_PROXY_SIGN_OUT_URL the browser is sent
there, and the Content-Security-Policy lets the sign-out form's redirect go."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.auth.accounts import SSO_BACKEND


@pytest.fixture
def behind_a_proxy(settings: Any) -> None:
    settings.AUTH_PROXY_USER_HEADER = "X-Forwarded-User"
    settings.AUTH_PROXY_SECRET_HEADER = "X-Proxy-Secret"
    settings.AUTH_PROXY_SECRET = "a-long-shared-secret-0123456789"
    settings.SSO_PROXY = settings.SSO_ENABLED = True


@pytest.mark.parametrize(
    ("sign_out_url", "form_action"),
    [
        ("/oauth2/sign_out?rd=%2Faccounts%2Fsigned-out%2F", "form-action 'self';"),
        (
            "https://portal.example.com/oauth2/sign_out",
            "form-action 'self' https://portal.example.com;",
        ),
    ],
)
def test_signing_out_goes_on_to_the_proxys_sign_out(
    db: None,
    behind_a_proxy: None,
    settings: Any,
    reviewer: Any,
    sign_out_url: str,
    form_action: str,
) -> None:
    settings.AUTH_PROXY_SIGN_OUT_URL = sign_out_url
    client = Client()
    client.force_login(reviewer, backend=SSO_BACKEND)
    page = client.get("/history/")
    assert form_action in page["Content-Security-Policy"]

    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == sign_out_url
    assert client.get("/history/").status_code == 302  # signed out here


def test_without_a_proxy_sign_out_address_the_signed_out_page_says_so(
    db: None, behind_a_proxy: None, settings: Any, reviewer: Any
) -> None:
    settings.AUTH_PROXY_SIGN_OUT_URL = None
    client = Client()
    client.force_login(reviewer, backend=SSO_BACKEND)
    response = client.post("/accounts/logout/", follow=True)
    assert response.redirect_chain[-1][0].endswith("/accounts/signed-out/")
    assert b"You are signed out" in response.content
