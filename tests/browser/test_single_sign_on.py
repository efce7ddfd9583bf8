"""Single sign-on in a real browser: the provider's own sign-in page, back to the page asked
for, the live socket up; signing out in one tab ends the other tab's live updates and both
sessions (tests/sso has the same flows driven by httpx, and the failure cases)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import TIMEOUT_MS
from tests.sso.conftest import REVIEWER_GROUP, Site, app_port, provider, serve_site  # noqa: F401
from tests.sso.provider import OpenIdProvider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sso_site(provider: OpenIdProvider, app_port: int, live_sandbox: Any) -> Iterator[Site]:  # noqa: F811
    with serve_site(provider, app_port, live_sandbox) as running:
        yield running


def _at(prefix: str) -> re.Pattern[str]:
    return re.compile(re.escape(prefix) + ".*")


def _tab(chromium: Any, site: Site, width: int = 1280) -> Page:
    context = chromium.new_context(base_url=site.url, viewport={"width": width, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()  # type: ignore[no-any-return]


def _provider_sign_in(tab: Page, login: str) -> None:
    tab.locator('input[name="login"]').fill(login)
    tab.locator('input[name="password"]').fill("any")
    tab.get_by_role("button", name="Sign-in").click()


def test_signing_in_and_out_through_the_provider(
    chromium: Any, sso_site: Site, tmp_path: Path
) -> None:
    sso_site.provider.set_person("pia", groups=[REVIEWER_GROUP], name="Pia Long")
    tab = _tab(chromium, sso_site)
    tab.goto("/history/")
    expect(tab).to_have_url(_at(sso_site.provider.url))
    _provider_sign_in(tab, "pia")
    expect(tab).to_have_url(f"{sso_site.url}/history/")
    expect(tab.locator(".who")).to_have_text("pia")

    second = tab.context.new_page()
    second.goto(sso_site.url + "/")
    expect(second.locator("#live-status")).to_have_text("Live")
    tab.screenshot(path=str(tmp_path / "signed-in-1280.png"))

    tab.get_by_role("button", name="Sign out").click()
    # The provider asks whether to sign out of it too.
    expect(tab).to_have_url(_at(sso_site.provider.url))
    tab.get_by_role("button", name="Yes, sign me out").click()
    expect(tab).to_have_url(_at(f"{sso_site.url}/accounts/signed-out/"))
    expect(tab.get_by_role("heading", name="You are signed out")).to_be_visible()
    tab.screenshot(path=str(tmp_path / "signed-out-1280.png"))

    # The other tab's socket closed with the session: it says so and offers nothing stale.
    expect(second.locator("#live-status")).to_contain_text("Signed out")
    # Signing in again needs the provider's password: its session ended too.
    tab.get_by_role("link", name="Sign in again").click()
    expect(tab.locator('input[name="login"]')).to_be_visible()


def test_a_failed_sign_in_is_a_branded_page_at_phone_width(
    chromium: Any, sso_site: Site, tmp_path: Path
) -> None:
    tab = _tab(chromium, sso_site, width=390)
    tab.goto("/oidc/callback/?code=forged&state=forged")
    expect(tab.get_by_role("heading", name="Sign-in did not work")).to_be_visible()
    expect(tab.get_by_role("alert")).to_contain_text("not one this browser started")
    tab.screenshot(path=str(tmp_path / "sign-in-failed-390.png"))
    tab.get_by_role("link", name="Sign in again").click()
    expect(tab).to_have_url(_at(sso_site.provider.url))
