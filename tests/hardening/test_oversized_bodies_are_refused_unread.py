"""An anonymous 100 MB POST gets 413 before its body is read, on every route: through the
real server (uvicorn), with a declared length and chunked. Before, Django spooled the whole
body to a temporary file before answering 401/403, so anyone could fill the disk."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.db import connection

from tests.served import database_url_of, served_dashboard

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

HUNDRED_MB = 100 * 1024 * 1024


@pytest.fixture(scope="module")
def app(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[str]:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        url = database_url_of(connection.settings_dict)
    with served_dashboard({"DATABASE_URL": url}) as base:
        yield base


def _status_line(sock: socket.socket) -> str:
    received = b""
    while b"\r\n" not in received:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return received.split(b"\r\n", 1)[0].decode()


def _post_head(app: str, path: str, headers: str) -> tuple[socket.socket, bytes]:
    parts = urlsplit(app)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()
    return sock, head


@pytest.mark.parametrize(
    "path", ["/api/approvals/waitpoint_x/approve", "/healthz", "/accounts/login/", "/"]
)
def test_a_declared_100_mb_body_is_refused_before_it_is_sent(app: str, path: str) -> None:
    sock, head = _post_head(
        app, path, f"Content-Type: application/json\r\nContent-Length: {HUNDRED_MB}\r\n"
    )
    with sock:
        sock.sendall(head + b"{" * 1024)  # a kilobyte of the hundred megabytes, then wait

        assert _status_line(sock) == "HTTP/1.1 413 Request Entity Too Large"


@pytest.mark.parametrize("path", ["/api/approvals/waitpoint_x/reject", "/healthz"])
def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(app: str, path: str) -> None:
    sock, head = _post_head(
        app, path, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    )
    chunk = b"x" * 65536
    with sock:
        sock.sendall(head)
        # Up to 2 MB in 64 KB chunks, more than either limit, and the body never ends; stop
        # sending once the server has answered (it closes the connection after a 413).
        for _ in range(32):
            answered, _w, _x = select.select([sock], [], [], 0.01)
            if answered:
                break
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break

        assert _status_line(sock) == "HTTP/1.1 413 Request Entity Too Large"


def test_a_small_chunked_body_still_reaches_the_view(app: str) -> None:
    sock, head = _post_head(
        app,
        "/api/approvals/waitpoint_x/approve",
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
    )
    body = b'{"comments": "ok"}'
    with sock:
        sock.sendall(head + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")

        assert _status_line(sock) == "HTTP/1.1 401 Unauthorized"  # read, then refused
