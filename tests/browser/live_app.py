"""The dashboard as `make run` serves it, for browser tests of the live updates.

pytest-django's ``live_server`` speaks no websockets, so the app runs under a real uvicorn, a
child process on loopback: ASGI lifespan on (the broadcaster attaches to the server's loop and
the sync worker runs inside the process), the in-memory channel layer (no ``REDIS_URL``), the
test database (committed data only: the tests use ``transactional_db``) and a standalone
sandbox as its Trigger.dev, reconciled every half second. Its log goes to a file the tests
print when they end, so a failure shows what the server said.

``Reviewers`` opens one browser context per person, signed in through the real login form,
and fails the test on any Content-Security-Policy violation or uncaught script error.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error, Page, expect

from tests.browser.conftest import TIMEOUT_MS, sign_in
from tests.sandbox_server import RunningSandbox
from tests.served import ROOT, free_port
from tests.waiting import wait_until

SECRET_KEY = "live-updates-browser-test-key-0123456789-abcdefghijklmnop"
# Seconds between reconcile passes in the served app (the realtime feed is faster still).
SYNC_INTERVAL_SECONDS = "0.5"


def served_env(*, database_url: str, sandbox: RunningSandbox) -> dict[str, str]:
    """The served app's environment: this one, minus anything that would change the setup
    under test (Redis, another Trigger.dev), plus plain HTTP on loopback."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "TRIGGER_", "SYNC_", "REDIS_", "APPROVAL_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "approvals_site.settings",
            "DJANGO_SECRET_KEY": SECRET_KEY,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            # A real Trigger.dev with debug off counts as production: HTTPS-only cookies and a
            # redirect to HTTPS, which a plain-HTTP server on loopback cannot serve.
            "DJANGO_SECURE_COOKIES": "false",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_HSTS_SECONDS": "0",
            "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "false",
            "DATABASE_URL": database_url,
            "TRIGGER_API_URL": sandbox.url,
            "TRIGGER_SECRET_KEY": sandbox.secret_key,
            "SYNC_IN_WEB_PROCESS": "true",
            "SYNC_INTERVAL_SECONDS": SYNC_INTERVAL_SECONDS,
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@dataclass
class LiveApp:
    """uvicorn serving the dashboard on a fixed port, which can be stopped and started again
    (the browser reconnects to the same address)."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 30) -> None:
        assert self.process is None, "already running"
        command = [
            sys.executable, "-m", "uvicorn", "approvals_site.asgi:application",
            "--host", "127.0.0.1", "--port", str(self.port), "--lifespan", "on",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            log.write(f"--- starting uvicorn on port {self.port}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        process = self.process

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"uvicorn exited ({process.returncode}):\n{self.log()}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(answers, timeout=timeout, interval=0.05)

    def stop(self, *, timeout: float = 20) -> float:
        """Stop the server as a process manager would (SIGTERM, so uvicorn shuts down
        gracefully), killing it if it is still there after ``timeout`` seconds. Returns how
        long it took to exit."""
        process, self.process = self.process, None
        if process is None:
            return 0.0
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            with self.log_path.open("ab") as log:
                log.write(f"--- killed: still running {timeout} s after SIGTERM\n".encode())
        return time.monotonic() - started

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Reviewers:
    """Browser contexts (one per person, each with its own cookies) on the served app."""

    browser: Browser
    base_url: str
    contexts: list[BrowserContext] = field(default_factory=list)
    # What fails the test: Content-Security-Policy violations, uncaught script errors.
    problems: list[str] = field(default_factory=list)
    # Other console errors (a refused websocket while the server is down is one), printed
    # when the test ends for the failure report.
    console_errors: list[str] = field(default_factory=list)

    def sign_in(self, username: str, *, width: int = 1280, height: int = 860) -> BrowserContext:
        """A new context signed in as ``username`` (password ``pw-<username>-1234``, as the
        personas of tests/conftest.py have)."""
        _password_the_server_can_check(username)
        context = self.browser.new_context(
            base_url=self.base_url, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        context.on("page", self._watch)
        page = context.new_page()
        sign_in(page, username, f"pw-{username}-1234")
        page.close()
        return context

    def _watch(self, page: Page) -> None:
        def console(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text:
                self.problems.append(f"CSP: {message.text}")
            elif message.type == "error":
                self.console_errors.append(f"{page.url}: {message.text}")

        def script_error(error: Error) -> None:
            self.problems.append(f"script error on {page.url}: {error}")

        page.on("console", console)
        page.on("pageerror", script_error)

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()


@functools.cache
def _default_hash(password: str) -> str:
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    return hasher.encode(password, hasher.salt())


def _password_the_server_can_check(username: str) -> None:
    """Hash the persona's password with Django's default hasher: the tests hash with MD5
    (tests/conftest.py), which the served app, on the default hashers, cannot check. (Hashed
    once per session: a quarter of a second each.)"""
    from django.contrib.auth.models import User

    password = _default_hash(f"pw-{username}-1234")
    assert User.objects.filter(username=username).update(password=password) == 1, username


def open_live(context: BrowserContext, path: str) -> Page:
    """A new tab on ``path``, once its socket is open (the page says "Live"). The tab is
    marked so that ``assert_not_reloaded`` can tell it was never loaded again."""
    page = context.new_page()
    page.goto(path)
    expect(page.locator("#live-status")).to_have_text("Live")
    page.evaluate("window.liveTestMark = 'loaded once'")
    return page


def assert_not_reloaded(*pages: Page) -> None:
    for page in pages:
        assert page.evaluate("window.liveTestMark") == "loaded once", f"{page.url} was reloaded"


def complete_token(sandbox: RunningSandbox, token_id: str, data: dict[str, Any]) -> None:
    """Complete a token as another client of Trigger.dev would: the real v4 API."""
    response = httpx.post(
        f"{sandbox.url}/api/v1/waitpoints/tokens/{token_id}/complete",
        headers={"Authorization": f"Bearer {sandbox.secret_key}"},
        json={"data": data},
        timeout=10,
    )
    response.raise_for_status()
