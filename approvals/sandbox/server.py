"""Serving the sandbox over real HTTP on loopback with uvicorn."""

from __future__ import annotations

import threading
import time

import uvicorn

from approvals.sandbox.app import DEFAULT_SECRET_KEY, SandboxApp, create_app


def _config(app: SandboxApp, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        # Long polls and SSE bodies must not hold a shutdown for long.
        timeout_graceful_shutdown=1,
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8787,
    secret_key: str = DEFAULT_SECRET_KEY,
    scenario: str = "demo",
    seed: int = 0,
    status_mode: str = "v4",
) -> None:
    """Run the sandbox until interrupted (blocking)."""
    app = create_app(secret_key=secret_key, scenario=scenario, seed=seed, status_mode=status_mode)
    uvicorn.Server(_config(app, host, port, "info")).run()


class ThreadedServer:
    """The sandbox on a uvicorn server in a background thread; ``port=0`` picks a free port."""

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self._server = uvicorn.Server(_config(app, host, port, "warning"))
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server is not started")
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        """Start serving and return once the socket listens."""
        self._thread = threading.Thread(
            target=self._server.run, name="trigger-sandbox-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        sockets = [sock for server in self._server.servers for sock in server.sockets]
        self.port = sockets[0].getsockname()[1]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self.app.stop()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
