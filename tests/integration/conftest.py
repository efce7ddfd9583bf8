"""A real sandbox server on loopback for the client's end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from approvals.sandbox import DEFAULT_SECRET_KEY, SandboxApp, ThreadedServer, create_app
from approvals.trigger import RetryPolicy, TriggerClient


@dataclass
class RunningSandbox:
    app: SandboxApp
    url: str
    secret_key: str

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def start_run(self, **fields: Any) -> dict[str, str]:
        body = {
            "task": "deploy-production",
            "payload": {"service": "billing"},
            "description": "Deploy billing to production",
            "timeout": "1h",
            "requestedBy": "dev@example.com",
        }
        body.update(fields)
        return self.control("POST", "runs", body)  # type: ignore[no-any-return]

    def faults(self, **faults: Any) -> None:
        self.control("POST", "faults", faults)

    def stats(self) -> dict[str, Any]:
        return self.control("GET", "stats")  # type: ignore[no-any-return]


def _serve(**kwargs: Any) -> Iterator[RunningSandbox]:
    app = create_app(secret_key=DEFAULT_SECRET_KEY, **kwargs)
    server = ThreadedServer(app, port=0)
    server.start()
    try:
        yield RunningSandbox(app=app, url=server.url, secret_key=DEFAULT_SECRET_KEY)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def _sandbox_server() -> Iterator[RunningSandbox]:
    yield from _serve(scenario="empty", seed=7)


@pytest.fixture
def sandbox(_sandbox_server: RunningSandbox) -> RunningSandbox:
    """The module's sandbox, reset to an empty world with no faults for each test."""
    _sandbox_server.control("POST", "reset")
    return _sandbox_server


@pytest.fixture
def delayed_sandbox() -> Iterator[RunningSandbox]:
    """A sandbox that reports waiting runs as DELAYED, as the seed assumed."""
    yield from _serve(scenario="empty", seed=3, status_mode="delayed")


class RecordingSleep:
    """A retry sleep that records the delays asked for and runs a hook instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.on_sleep: Any = None

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep(len(self.delays))


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def client(sandbox: RunningSandbox, sleeps: RecordingSleep) -> Iterator[TriggerClient]:
    with TriggerClient(
        secret_key=sandbox.secret_key,
        base_url=sandbox.url,
        timeout=5.0,
        retry=RetryPolicy(min_delay=0.001, max_delay=0.01, sleep=sleeps),
    ) as c:
        yield c
