"""The production process model (approvals_site/serve.py): uvicorn workers, each listening on
a socket of its own, so that the kernel spreads connections over all of them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from uvicorn.config import STARTUP_FAILURE

from approvals_site import serve
from tests.served import ROOT, SERVED_SECRET_KEY, database_url_of, free_port, served_by_workers
from tests.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _sockets(port: int, state: str) -> set[int]:
    """Inodes of the TCP sockets on local ``port`` in ``state`` (0A listening, 01 established)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                found.add(int(fields[9]))
    return found


def _owned(pid: int, inodes: set[int]) -> int:
    """How many of ``inodes`` process ``pid`` holds."""
    held = 0
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # it has just exited (a killed worker, still listed a moment)
        return 0
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and int(target[8:-1]) in inodes:
            held += 1
    return held


def _workers(parent: int, port: int) -> list[int]:
    """The supervisor's children that listen on ``port``."""
    children = []
    for task in Path(f"/proc/{parent}/task").iterdir():
        try:
            children += [int(pid) for pid in (task / "children").read_text().split()]
        except OSError:  # a thread that has just ended
            continue
    listening = _sockets(port, "0A")
    return [pid for pid in children if _owned(pid, listening)]


def _all_workers(parent: int, port: int, count: int) -> list[int]:
    """The workers listening on ``port``, once there are ``count`` of them (else none)."""
    workers = _workers(parent, port)
    return workers if len(workers) == count else []


def _ask(port: int) -> socket.socket:
    """A connection that has had one answer from /healthz, left open (keep-alive)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while not answer.endswith(b"ok"):
        chunk = sock.recv(4096)
        assert chunk, f"connection closed after {answer!r}"
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
    return sock


@pytest.fixture
def env() -> dict[str, str]:
    return {"DATABASE_URL": database_url_of(connection.settings_dict), "DJANGO_DEBUG": "false"}


@pytest.fixture
def two_workers(env: dict[str, str]) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    port = free_port()
    with served_by_workers(env, workers=2, port=port) as (_, process):
        wait_until(lambda: _all_workers(process.pid, port, 2), timeout=30)
        yield port, process


def test_each_worker_listens_on_its_own_socket_and_gets_connections(
    two_workers: tuple[int, subprocess.Popen[str]],
) -> None:
    port, process = two_workers
    assert len(_sockets(port, "0A")) == 2  # uvicorn --workers shares one
    connections = [_ask(port) for _ in range(24)]
    try:
        established = _sockets(port, "01")
        held = {pid: _owned(pid, established) for pid in _workers(process.pid, port)}
        # Spread by a hash of each connection's addresses: all 24 on one worker has a
        # chance of 2 in 2**24; with one shared socket it is the usual case.
        assert sum(held.values()) == 24 and min(held.values()) >= 1, held
    finally:
        for sock in connections:
            sock.close()


def test_a_worker_that_dies_is_replaced_by_one_with_its_own_socket(
    two_workers: tuple[int, subprocess.Popen[str]],
) -> None:
    port, process = two_workers
    before = _workers(process.pid, port)
    os.kill(before[0], signal.SIGKILL)
    after = wait_until(
        lambda: before[0] not in (w := _all_workers(process.pid, port, 2)) and w, timeout=30
    )
    assert before[1] in after and len(_sockets(port, "0A")) == 2
    _ask(port).close()


def test_sigterm_stops_every_worker(env: dict[str, str]) -> None:
    port = free_port()
    with served_by_workers(env, workers=2, port=port) as (_, process):
        workers = wait_until(lambda: _all_workers(process.pid, port, 2))
        process.terminate()
        assert process.wait(timeout=20) == 0
    for pid in workers:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )
    assert not _sockets(port, "0A")


def _serve(port: int, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    """``serve`` run to its end (bounded), as an operator would start it."""
    return subprocess.run(
        [sys.executable, "-m", "approvals_site.serve", "--port", str(port), *extra],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SECRET_KEY": SERVED_SECRET_KEY, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_address_another_server_answers_on_is_refused(env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve(port, env, "--workers", "2")
    assert done.returncode != 0
    assert f"something already answers on 127.0.0.1:{port}" in done.stderr


def test_an_address_held_outside_the_group_is_refused_with_the_reason(
    env: dict[str, str],
) -> None:
    with socket.socket() as held:  # bound, not listening, no SO_REUSEPORT
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        done = _serve(port, env, "--workers", "2")
    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in done.stderr


def test_a_second_instance_on_the_same_port_is_refused(
    two_workers: tuple[int, subprocess.Popen[str]], env: dict[str, str]
) -> None:
    """SO_REUSEPORT would let it in, to take a share of the connections."""
    port, process = two_workers
    done = _serve(port, env, "--workers", "1")
    assert done.returncode != 0 and "something already answers" in done.stderr
    assert len(_workers(process.pid, port)) == 2 and len(_sockets(port, "0A")) == 2


def test_a_settings_error_stops_the_supervisor_instead_of_restarting_forever(
    env: dict[str, str],
) -> None:
    done = _serve(free_port(), {**env, "DATABASE_URL": "notaurl"}, "--workers", "2")
    assert done.returncode == STARTUP_FAILURE
    assert "The dashboard could not start" in done.stderr
    assert "failed to start, stopping the parent process" in done.stderr
    assert done.stderr.count("died") == 0  # not a worker restarted


def test_workers_stop_when_their_supervisor_is_killed(env: dict[str, str]) -> None:
    """Left running they would serve old code beside the next instance (SO_REUSEPORT)."""
    port = free_port()
    with served_by_workers(env, workers=2, port=port) as (_, process):
        workers = wait_until(lambda: _all_workers(process.pid, port, 2))
        process.kill()
        process.wait(timeout=10)
        wait_until(lambda: not any(_running(pid) for pid in workers), timeout=30)
        wait_until(lambda: not _sockets(port, "0A"), timeout=10)


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "zombie" not in status


def test_arguments_are_checked() -> None:
    with pytest.raises(SystemExit):
        serve.parse(["--port", "0"])
    with pytest.raises(SystemExit):
        serve.parse(["--workers", "0"])
    args = serve.parse(
        ["--workers", "3", "--no-proxy-headers", "--forwarded-allow-ips", "10.0.0.1"]
    )
    config = serve.config_for(args)
    assert (config.workers, config.proxy_headers, config.forwarded_allow_ips) == (
        3,
        False,
        "10.0.0.1",
    )
    assert (config.lifespan, config.access_log, config.app) == ("on", False, serve.APP)
    assert serve.parse([]).workers == (os.cpu_count() or 1) + 1
    assert serve.parse(["--host", "[::1]"]).host == "::1"  # as written in a URL
    with pytest.raises(SystemExit):
        serve.parse(["--log-level", "loud"])
