"""tests.served: a server started on a port another process took meanwhile is started again on
another port, and the probe counts only answers from the server it started."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests import served


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on (and never answers)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_a_port_taken_before_uvicorn_binds_it_is_traded_for_another(
    taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    offered = [taken_port]
    real_free_port = served.free_port

    def free_port() -> int:
        return offered.pop(0) if offered else real_free_port()

    monkeypatch.setattr(served, "free_port", free_port)
    with served.served_dashboard({}) as url:
        assert not url.endswith(f":{taken_port}")
        assert httpx.get(f"{url}/healthz", timeout=10).text == "ok"


def test_only_the_process_holding_the_listening_socket_listens_on_it(taken_port: int) -> None:
    assert served.listens_on(os.getpid(), taken_port)
    assert not served.listens_on(os.getpid(), served.free_port())
