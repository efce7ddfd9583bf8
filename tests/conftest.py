"""Shared fixtures and the suite's guard rails.

- No network beyond loopback: any attempt to resolve or connect elsewhere fails the test.
- No skipped (or xfailed) test passes unnoticed: the session fails if any was skipped.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_LOCAL_NAMES = {"localhost", "testserver", "sandbox.invalid"}


def _is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def guard(address: Any) -> None:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            raise OSError(f"tests may only reach loopback, not {address[0]!r}")

    def connect(self: socket.socket, address: Any) -> None:
        guard(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(host):
            raise socket.gaierror(f"tests may only resolve loopback names, not {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = len(reporter.stats.get("skipped", [])) + len(reporter.stats.get("xfailed", []))
    if skipped:
        reporter.write_line(
            f"FAILED: {skipped} test(s) were skipped or xfailed; this suite allows none.",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Each test starts with an empty cache: the queue's task menu is cached for a few seconds
    (approvals.queries.queue_facets), and a browser test run right after another one saw the
    earlier test's tasks and not its own."""
    from django.core.cache import cache

    from approvals.presentation.queue_cache import pages

    cache.clear()
    # Kept queue pages too: a test's database is rolled back, the process's memory is not, and
    # the change counter (a table) goes back with it (approvals.changes).
    pages.clear()
    yield


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """MD5 instead of PBKDF2 in tests: each persona's password hash took about 0.33 s, most of
    the suite's time. (override_settings, not assignment: it clears the cached hashers.)"""
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


# --- Personas ---------------------------------------------------------------------------------


def _user(username: str, *, reviewer: bool = False, staff: bool = False) -> Any:
    from django.contrib.auth.models import User

    user = User.objects.create_user(
        username,
        f"{username}@example.com",
        f"pw-{username}-1234",
        is_staff=staff,
        is_superuser=staff,
    )
    if reviewer:
        from approvals.auth.demo import reviewers_group

        user.groups.add(reviewers_group())
    return user


@pytest.fixture
def reviewer(db: None) -> Any:
    """Rita may decide approvals."""
    return _user("rita", reviewer=True)


@pytest.fixture
def second_reviewer(db: None) -> Any:
    """Sam may decide approvals too."""
    return _user("sam", reviewer=True)


@pytest.fixture
def outsider(db: None) -> Any:
    """Otto can sign in but may not decide anything."""
    return _user("otto")


@pytest.fixture
def admin_user(db: None) -> Any:
    """Ada administers the dashboard."""
    return _user("ada", staff=True)


# --- Trigger.dev: the sandbox on loopback, wired into the settings ----------------------------


@pytest.fixture(scope="session")
def _session_sandbox() -> Iterator[Any]:
    from tests.sandbox_server import serve_sandbox

    yield from serve_sandbox(scenario="empty", seed=11)


@pytest.fixture
def live_sandbox(_session_sandbox: Any, settings: Any) -> Any:
    """An empty sandbox on loopback, reset for this test, that the dashboard talks to over HTTP
    (``approvals.upstream`` builds its clients from these settings)."""
    _session_sandbox.control("POST", "reset")
    settings.TRIGGER_USES_SANDBOX = False
    settings.TRIGGER_API_URL = _session_sandbox.url
    settings.TRIGGER_SECRET_KEY = _session_sandbox.secret_key
    return _session_sandbox
