"""A real sandbox server on loopback, shared by every test that needs one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from approvals.sandbox import DEFAULT_SECRET_KEY, SandboxApp, ThreadedServer, create_app


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


def serve_sandbox(**kwargs: Any) -> Iterator[RunningSandbox]:
    app = create_app(secret_key=DEFAULT_SECRET_KEY, **kwargs)
    server = ThreadedServer(app, port=0)
    server.start()
    try:
        yield RunningSandbox(app=app, url=server.url, secret_key=DEFAULT_SECRET_KEY)
    finally:
        server.stop()
