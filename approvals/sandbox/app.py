"""The sandbox as an ASGI application: routing, the request pipeline and the background ticker.

Pipeline for an emulated route (docs/trigger-v4.md, "Errors, rate limits, retries"): latency →
missing-header 401 → rate limit
(``/api/*`` only, callback exempt) → injected 5xx → key check → handler → rate-limit headers →
maybe a dropped connection. Control routes (``/_sandbox/*``) skip all of that.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from approvals.sandbox import api_runs, api_tokens, auth, controls, electric, sse
from approvals.sandbox.clock import Clock
from approvals.sandbox.config import SandboxConfig
from approvals.sandbox.context import Context, Stats
from approvals.sandbox.faults import Faults, RateDecision
from approvals.sandbox.http import (
    AnyResponse,
    Request,
    Response,
    Route,
    StreamingResponse,
    error,
    json_response,
    resolve,
    route,
)
from approvals.sandbox.scenario import Scenario
from approvals.sandbox.world import World

logger = logging.getLogger(__name__)

DEFAULT_SECRET_KEY = "tr_dev_sandboxDemoKey0000000000"

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ROUTES: list[Route] = [
    route("GET", "/api/v1/runs", "api", "jwt", api_runs.list_runs),
    route("GET", "/api/v3/runs/{runId}", "api", "jwt", api_runs.retrieve_run),
    route("POST", "/api/v1/waitpoints/tokens", "api", "secret", api_tokens.create),
    route("GET", "/api/v1/waitpoints/tokens", "api", "secret", api_tokens.list_tokens),
    route("GET", "/api/v1/waitpoints/tokens/{waitpointId}", "api", "secret", api_tokens.retrieve),
    route(
        "POST",
        "/api/v1/waitpoints/tokens/{waitpointId}/complete",
        "api",
        "jwt",
        api_tokens.complete,
    ),
    route(
        "POST",
        "/api/v1/waitpoints/tokens/{waitpointId}/callback/{hash}",
        "callback",
        "none",
        api_tokens.callback,
    ),
    route("GET", "/realtime/v1/runs", "realtime", "jwt", electric.tagged_runs_feed),
    route("GET", "/realtime/v1/runs/{runId}", "realtime", "jwt", electric.run_feed),
    route("GET", "/realtime/v1/streams/{runId}/{streamKey}", "realtime", "jwt", sse.stream),
    route("POST", "/_sandbox/runs", "control", "none", controls.start_run),
    route("GET", "/_sandbox/runs/{runId}", "control", "none", controls.inspect_run),
    route(
        "POST",
        "/_sandbox/runs/{runId}/streams/{streamKey}",
        "control",
        "none",
        controls.append_stream,
    ),
    route("GET", "/_sandbox/faults", "control", "none", controls.get_faults),
    route("POST", "/_sandbox/faults", "control", "none", controls.set_faults),
    route("GET", "/_sandbox/config", "control", "none", controls.get_config),
    route("POST", "/_sandbox/config", "control", "none", controls.set_config),
    route("GET", "/_sandbox/clock", "control", "none", controls.get_clock),
    route("POST", "/_sandbox/clock", "control", "none", controls.set_clock),
    route("GET", "/_sandbox/stats", "control", "none", controls.get_stats),
    route("POST", "/_sandbox/reset", "control", "none", controls.reset),
    route("POST", "/_sandbox/realtime/reset-handles", "control", "none", controls.reset_handles),
]


class DroppedConnection(ConnectionError):
    """Raised mid-body to simulate a connection lost while the answer was on its way."""


def _too_many_requests(decision: RateDecision) -> Response:
    seconds = max(0.0, round((decision.reset_ms - time.time() * 1000) / 1000, 1))
    detail = (
        f"Rate limit exceeded 0/{decision.limit} requests remaining. Retry in {seconds} seconds."
    )
    body = {
        "title": "Rate Limit Exceeded",
        "status": 429,
        "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/429",
        "detail": detail,
        "reset": decision.reset_ms,
        "limit": decision.limit,
        "remaining": decision.remaining,
        "secondsUntilReset": seconds,
        "error": detail,
    }
    return json_response(body, 429, content_type="application/problem+json")


class SandboxApp:
    """An ASGI callable (http + lifespan) emulating the Trigger.dev v4 API."""

    def __init__(
        self,
        *,
        secret_key: str = DEFAULT_SECRET_KEY,
        scenario: str = "demo",
        seed: int = 0,
        status_mode: str = "v4",
        tick_interval: float = 0.25,
    ) -> None:
        self.clock = Clock()
        self.world = World(self.clock, seed=seed)
        self.config = SandboxConfig()
        self.scenario = Scenario(
            self.world, name=scenario, seed=seed, status_mode=status_mode, config=self.config
        )
        self.faults = Faults()
        self.stats = Stats()
        self.secret_key = secret_key
        self.tick_interval = tick_interval
        self.ctx = Context(
            secret_key=secret_key,
            clock=self.clock,
            world=self.world,
            scenario=self.scenario,
            faults=self.faults,
            config=self.config,
            stats=self.stats,
        )
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self._ticker_lock = threading.Lock()

    # ---- the ticker ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background ticker (idempotent)."""
        with self._ticker_lock:
            if self._ticker is not None and self._ticker.is_alive():
                return
            self._stop.clear()
            self._ticker = threading.Thread(
                target=self._tick_forever, name="trigger-sandbox-ticker", daemon=True
            )
            self._ticker.start()

    def stop(self) -> None:
        with self._ticker_lock:
            ticker, self._ticker = self._ticker, None
            self._stop.set()
        if ticker is not None and ticker is not threading.current_thread():
            ticker.join(timeout=5)

    def _tick_forever(self) -> None:
        while not self._stop.wait(self.tick_interval):
            try:
                self.scenario.tick()
            except Exception:  # keep ticking; a test inspecting state sees the damage
                logger.exception("sandbox tick failed")

    # ---- ASGI ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:  # websockets are not part of the API
            raise RuntimeError(f"unsupported ASGI scope type {scope['type']!r}")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        request = Request.from_scope(scope, b"".join(chunks))

        async def watch_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        # A long poll or stream stops as soon as its client goes away.
        work = asyncio.ensure_future(self._respond(request, send))
        watcher = asyncio.ensure_future(watch_disconnect())
        try:
            await asyncio.wait({work, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (work, watcher):
                task.cancel()
        if work.done() and not work.cancelled():
            work.result()  # re-raise a simulated drop, so the server aborts the connection

    async def _respond(self, request: Request, send: Send) -> None:
        response, drop = await self.handle(request)
        await _send(response, send, drop=drop)

    async def handle(self, request: Request) -> tuple[AnyResponse, bool]:
        """The answer to ``request``, and whether to drop the connection while sending it."""
        self.start()
        match = resolve(ROUTES, request.method, request.path)
        if match.route is None:
            if match.allowed:
                not_allowed = error(405, "Method not allowed")
                not_allowed.headers.append(("allow", ", ".join(sorted(set(match.allowed)))))
                return not_allowed, False
            return error(404, "Not found"), False
        found = match.route
        request.params = match.params
        if found.kind == "control":
            return await self._run(found, request), False

        self.stats.count(f"{request.method} {found.template}")
        self.scenario.tick()
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)

        rate_headers: list[tuple[str, str]] = []
        if found.kind == "api":
            token = auth.bearer(request)
            if token is None:
                return auth.no_header(), False
            decision = self.faults.take(token)
            rate_headers = decision.headers()
            if not decision.allowed:
                limited = _too_many_requests(decision)
                limited.headers.extend(rate_headers)
                return limited, False

        if self.faults.should_fail():
            response: AnyResponse = error(500, "Internal Server Error")
        elif found.auth != "none":
            caller = auth.authenticate(self.ctx, request, allow_jwt=found.auth == "jwt")
            if isinstance(caller, Response):
                response = caller
            else:
                request.caller = caller
                response = await self._run(found, request)
        else:
            response = await self._run(found, request)
        response.headers.extend(rate_headers)
        return response, self.faults.should_drop()

    async def _run(self, found: Route, request: Request) -> AnyResponse:
        try:
            return await found.handler(self.ctx, request)
        except Exception:
            logger.exception("sandbox handler failed for %s %s", request.method, request.path)
            return error(500, "Internal Server Error")


async def _send(response: AnyResponse, send: Send, *, drop: bool) -> None:
    raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    if isinstance(response, StreamingResponse):
        if drop:
            # Promise a body, deliver a sliver, then abort: the client sees a broken response.
            raw_headers.append((b"content-length", b"65536"))
            await send({"type": "http.response.start", "status": 200, "headers": raw_headers})
            await send({"type": "http.response.body", "body": b": ", "more_body": True})
            raise DroppedConnection("sandbox dropped the connection")
        await send(
            {"type": "http.response.start", "status": response.status, "headers": raw_headers}
        )
        async for chunk in response.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    body = response.body
    # A dropped empty body still promises one byte, so the client notices the loss.
    length = max(len(body), 1) if drop else len(body)
    raw_headers.append((b"content-length", str(length).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": raw_headers})
    if drop:
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        raise DroppedConnection("sandbox dropped the connection")
    await send({"type": "http.response.body", "body": body, "more_body": False})


def create_app(
    *,
    secret_key: str = DEFAULT_SECRET_KEY,
    scenario: str = "demo",
    seed: int = 0,
    status_mode: str = "v4",
    tick_interval: float = 0.25,
) -> SandboxApp:
    return SandboxApp(
        secret_key=secret_key,
        scenario=scenario,
        seed=seed,
        status_mode=status_mode,
        tick_interval=tick_interval,
    )
