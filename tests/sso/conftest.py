"""The dashboard served by uvicorn with OpenID Connect against a real provider on loopback.

The provider (tests/sso/provider.py) runs for the whole session with one client whose
redirect URI is the callback on one port chosen up front; each test starts the dashboard on
that port with the settings it needs, on the test database, with the shared standalone sandbox
as its Trigger.dev.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from django.db import connection

from tests.served import database_url_of, free_port, loopback_production_env, served_dashboard
from tests.sso.provider import OpenIdProvider, running_provider

REVIEWER_GROUP = "approvers"
ADMIN_GROUP = "platform-admins"
FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


@pytest.fixture(scope="session")
def app_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def provider(app_port: int) -> Iterator[OpenIdProvider]:
    with running_provider([f"http://127.0.0.1:{app_port}"]) as running:
        yield running


@dataclass
class Site:
    url: str
    provider: OpenIdProvider

    def browser(self) -> httpx.Client:
        """A fresh browser: its own cookies for the dashboard and the provider."""
        return httpx.Client(base_url=self.url, timeout=20)

    def at_provider(self, response: httpx.Response) -> bool:
        return str(response.url).startswith(self.provider.url)

    def provider_form(
        self, browser: httpx.Client, login: str, page: httpx.Response
    ) -> httpx.Response:
        """Fill the provider's sign-in form on ``page`` as ``login`` (any password)."""
        found = FORM_ACTION.search(page.text)
        assert found, f"no sign-in form at {page.url}"
        return browser.post(
            urljoin(str(page.url), found.group(1)),
            data={"prompt": "login", "login": login, "password": "any"},
            follow_redirects=True,
        )

    def sign_in(
        self, login: str, *, path: str = "/", browser: httpx.Client | None = None
    ) -> tuple[httpx.Client, httpx.Response]:
        """Open ``path`` signed out, sign in at the provider, and come back."""
        browser = browser or self.browser()
        page = browser.get(path, follow_redirects=True)
        assert self.at_provider(page), f"{path} ended at {page.url}, not at the provider"
        return browser, self.provider_form(browser, login, page)

    def csrf_headers(self, browser: httpx.Client) -> dict[str, str]:
        browser.get("/accounts/signed-out/")  # any page sets the CSRF cookie
        return {"X-CSRFToken": browser.cookies.get("csrftoken") or "", "Referer": self.url + "/"}


def site_env(provider: OpenIdProvider, sandbox: Any, **extra: str) -> dict[str, str]:
    return {
        **loopback_production_env(
            database_url=database_url_of(connection.settings_dict), sandbox=sandbox
        ),
        "OIDC_REVIEWER_GROUPS": REVIEWER_GROUP,
        "OIDC_ADMIN_GROUPS": ADMIN_GROUP,
        **provider.env(),
        **extra,
    }


@contextmanager
def serve_site(provider: OpenIdProvider, port: int, sandbox: Any, **extra: str) -> Iterator[Site]:
    with served_dashboard(site_env(provider, sandbox, **extra), port=port) as url:
        yield Site(url=url, provider=provider)


@pytest.fixture
def site(
    transactional_db: None, provider: OpenIdProvider, app_port: int, live_sandbox: Any
) -> Iterator[Site]:
    with serve_site(provider, app_port, live_sandbox) as running:
        yield running
