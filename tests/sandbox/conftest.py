"""Sandbox fixtures: an app, raw httpx clients in-process and over a real loopback server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from approvals.sandbox import (
    DEFAULT_SECRET_KEY,
    SandboxApp,
    SandboxTransport,
    ThreadedServer,
    create_app,
)

API_VERSION = "2025-07-16"
AUTH = {"Authorization": f"Bearer {DEFAULT_SECRET_KEY}"}
SDK_HEADERS = {**AUTH, "x-trigger-api-version": API_VERSION}
ELECTRIC_HEADERS = {**SDK_HEADERS, "x-trigger-electric-version": "1.0.0-beta.1"}


@pytest.fixture
def app() -> Iterator[SandboxApp]:
    """An empty sandbox (no demo runs), ticking fast."""
    sandbox = create_app(scenario="empty", tick_interval=0.02)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def demo_app() -> Iterator[SandboxApp]:
    sandbox = create_app(scenario="demo", seed=7, tick_interval=0.02)
    yield sandbox
    sandbox.stop()


def _client(sandbox: SandboxApp) -> httpx.Client:
    return httpx.Client(
        transport=SandboxTransport(sandbox), base_url="http://sandbox.local", headers=SDK_HEADERS
    )


@pytest.fixture
def sandbox_http(app: SandboxApp) -> Iterator[httpx.Client]:
    with _client(app) as http:
        yield http


@pytest.fixture
def demo_client(demo_app: SandboxApp) -> Iterator[httpx.Client]:
    with _client(demo_app) as http:
        yield http


@pytest.fixture
def server(app: SandboxApp) -> Iterator[ThreadedServer]:
    running = ThreadedServer(app, port=0).start()
    yield running
    running.stop()


@pytest.fixture
def server_client(server: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=SDK_HEADERS) as http:
        yield http


@pytest.fixture(params=["in-process", "uvicorn"])
def any_client(request: pytest.FixtureRequest, app: SandboxApp) -> Iterator[httpx.Client]:
    """The same tests against the in-process transport and a real loopback server."""
    if request.param == "in-process":
        with _client(app) as http:
            yield http
    else:
        with (
            ThreadedServer(app, port=0) as running,
            httpx.Client(base_url=running.url, headers=SDK_HEADERS) as http,
        ):
            yield http


def start_run(http: httpx.Client, **fields: Any) -> dict[str, str]:
    body = {
        "task": "approve-invoice",
        "payload": {"invoiceId": 42},
        "description": "Pay invoice 42",
        "timeout": "1h",
        "requestedBy": "alice@example.com",
        "tags": ["invoice:42"],
        **fields,
    }
    response = http.post("/_sandbox/runs", json=body)
    assert response.status_code == 200, response.text
    started: dict[str, str] = response.json()
    return started


def internal_run(http: httpx.Client, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = http.get(f"/_sandbox/runs/{run_id}").json()
    return run
