"""The dashboard served by a real uvicorn process on loopback, for tests that must go through
the ASGI server (connection handling, request bodies) rather than Django's test client."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
# The served app's key, unless its env says otherwise: a test reading the app's signed data
# (its sessions) needs the same.
SERVED_SECRET_KEY = "served-test-secret-key-0123456789-abcdefghijklmnop"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url_of(settings_dict: dict[str, Any], **query: str) -> str:
    """A URL for the database the test runs on (the test database), for a child process."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    host = settings_dict["HOST"] or "127.0.0.1"
    url = f"postgres://{settings_dict['USER']}@{host}:{settings_dict['PORT'] or 5432}/"
    url += str(settings_dict["NAME"])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def _listening_sockets(port: int) -> set[str]:
    """The inodes of the sockets listening on ``port`` (Linux's /proc/net tables)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    found.add(fields[9])
    return found


def listens_on(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds a socket listening on ``port``. A port from free_port()
    can be taken by another process before the server binds it; the probe then reaches that
    other server while ours has exited or is about to."""
    inodes = _listening_sockets(port)
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return True
    return False


@contextmanager
def _running(
    command: list[str],
    *,
    env: dict[str, str],
    probe: str,
    headers: dict[str, str],
    log: Path | None = None,
    port: int | None = None,
) -> Iterator[subprocess.Popen[str]]:
    """Run ``command`` from the project root until the block ends (yielding the process);
    first wait (bounded) until
    ``probe`` answers below 500 (and, given ``port``, the process itself listens there),
    failing at once with its log if the process exits. The log
    goes to a file (``log``, for a test that reads it; else a temporary one), not a pipe:
    nobody reads a pipe while the server runs, and a server that logged more than the pipe
    holds would stop."""
    with log.open("w+") if log is not None else tempfile.TemporaryFile(mode="w+") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=sink, text=True
        )

        def answers() -> bool:
            if process.poll() is not None:
                sink.seek(0)
                raise AssertionError(f"{command[1:4]} exited: {sink.read()[-4000:]}")
            try:
                answered = httpx.get(probe, headers=headers, timeout=2).status_code < 500
            except httpx.TransportError:
                return False
            return answered and (port is None or listens_on(process.pid, port))

        try:
            wait_until(answers, timeout=30)
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM, and SIGKILL if it has not exited 10 s later."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def served_dashboard(
    env: dict[str, str],
    *,
    port: int | None = None,
    lifespan: str = "off",
    log: Path | None = None,
    uvicorn_args: tuple[str, ...] = (),
) -> Iterator[str]:
    """Start uvicorn with ``env`` on top of this environment (on ``port``, or a free one, its
    log in ``log`` if given, with ``uvicorn_args`` added); yields its base URL."""
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "approvals_site.settings",
        "SYNC_IN_WEB_PROCESS": "false",
        "DJANGO_SECRET_KEY": SERVED_SECRET_KEY,
        **env,
    }
    with contextlib.ExitStack() as stack:
        for attempt in range(3):
            # A free port can be taken by another process before uvicorn binds it: then
            # try another (unless the test named its port).
            chosen = port or free_port()
            command = [
                sys.executable, "-m", "uvicorn", "approvals_site.asgi:application",
                "--host", "127.0.0.1", "--port", str(chosen), "--lifespan", lifespan,
                "--log-level", "warning", *uvicorn_args,
            ]  # fmt: skip
            url = f"http://127.0.0.1:{chosen}"
            probe = f"{url}/healthz"
            try:
                stack.enter_context(
                    _running(command, env=full_env, probe=probe, headers={}, log=log, port=chosen)
                )
                break
            except AssertionError as exc:
                if port is not None or attempt == 2 or "address already in use" not in str(exc):
                    raise
        yield url


@contextmanager
def served_by_workers(
    env: dict[str, str], *, workers: int, port: int | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The production process model (``python -m approvals_site.serve``) with ``workers``
    worker processes; yields its base URL and the supervising process."""
    port = port or free_port()
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "approvals_site.settings",
        "SYNC_IN_WEB_PROCESS": "false",
        "DJANGO_SECRET_KEY": SERVED_SECRET_KEY,
        **env,
    }
    command = [
        sys.executable, "-m", "approvals_site.serve", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--log-level", "warning",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with _running(command, env=full_env, probe=f"{url}/healthz", headers={}) as process:
        yield url, process


def loopback_production_env(*, database_url: str, sandbox: Any) -> dict[str, str]:
    """The settings of a production deployment served on loopback: a real Trigger.dev (the
    sandbox over HTTP) with debug off is production, and plain HTTP needs no HTTPS redirect,
    no secure-only cookies and no HSTS."""
    return {
        "DATABASE_URL": database_url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_HSTS_SECONDS": "0",
        "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "false",
        "TRIGGER_API_URL": sandbox.url,
        "TRIGGER_SECRET_KEY": sandbox.secret_key,
    }


@contextmanager
def sandbox_command(*args: str, env: dict[str, str], key: str) -> Iterator[str]:
    """``manage.py trigger_sandbox ARGS`` on a free port, started with exactly ``env``; yields
    its base URL once it answers ``key``."""
    port = free_port()
    command = [sys.executable, "manage.py", "trigger_sandbox", "--port", str(port), *args]
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {key}"}
    with _running(command, env=env, probe=f"{url}/api/v1/runs", headers=headers):
        yield url
