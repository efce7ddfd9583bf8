"""Playwright against the system Chromium, with the app served by pytest-django's live_server.

Chromium comes from Debian (``apt-get install -y chromium``), never ``playwright install``.
These tests run last: Playwright's sync API leaves an event loop behind that upsets the
pytest-asyncio tests collected after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests import npm

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Bounded waits for expectations; the pages answer in milliseconds.
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def chromium(django_db_setup: None) -> Iterator[Any]:
    """The browser, for the rest of the session (these tests run last).

    Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls
    where a loop runs: ``DJANGO_ALLOW_ASYNC_UNSAFE`` lets the tests (and the database
    fixtures around them) use the ORM, which is safe here as nothing else uses that loop.
    """
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser tab (its own cookies) on the live server.

    The Content-Security-Policy forbids inline script and style on the app's pages; any
    violation the browser reports during a test fails it.
    """
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1360, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    violations: list[str] = []

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    tab.on("console", on_console)
    try:
        yield tab
    finally:
        context.close()
    assert violations == [], violations


def sign_in(page: Any, username: str, password: str, *, next_path: str = "/") -> None:
    """Sign in through the real login form."""
    page.goto(next_path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{next_path}")


# --- axe-core, for the accessibility tests --------------------------------------------------

# From the npm registry, like the test OpenID provider (tests/npm.py). The minor is pinned so
# a new rule in a later release cannot fail a build unasked.
AXE_PACKAGE = "axe-core@4.14.x"


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The source of axe-core's browser bundle (see tests/browser/test_accessibility.py)."""
    return (npm.installed(AXE_PACKAGE, "axe-core") / "axe.min.js").read_text(encoding="utf-8")
