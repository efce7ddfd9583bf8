"""httpx transports that talk to a SandboxApp in-process, streaming included.

Unlike ``httpx.ASGITransport`` these stream the body (SSE and long polls work), report a
client that closes early to the app as ``http.disconnect``, and turn an app that dies mid-answer
(a simulated drop) into ``httpx.RemoteProtocolError``, as a real broken connection would be.
The sync transport runs the app on one private event-loop thread shared by all its instances.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import unquote

import httpx

from approvals.sandbox.app import SandboxApp

Event = tuple[Any, ...]  # ("start", status, headers) | ("body", bytes) | ("end",) | ("error", exc)

_loop_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _private_loop() -> asyncio.AbstractEventLoop:
    """One daemon thread running an event loop for every SandboxTransport in the process."""
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="trigger-sandbox-transport", daemon=True
            ).start()
            _loop = loop
        return _loop


def _scope(request: httpx.Request) -> dict[str, Any]:
    url = request.url
    port = url.port or (443 if url.scheme == "https" else 80)
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": url.scheme,
        "path": unquote(url.raw_path.split(b"?", 1)[0].decode("ascii")),
        "raw_path": url.raw_path.split(b"?", 1)[0],
        "query_string": url.query,
        "root_path": "",
        "headers": [(k.lower(), v) for k, v in request.headers.raw],
        "client": ("127.0.0.1", 50000),
        "server": (url.host, port),
    }


class _Exchange:
    """One request/response conversation with the app, reported as a sequence of events."""

    def __init__(
        self, app: SandboxApp, scope: dict[str, Any], body: bytes, emit: Callable[[Event], None]
    ):
        self.app = app
        self.scope = scope
        self.body = body
        self.emit = emit
        self.disconnected = asyncio.Event()  # binds to the loop that first waits on it

    async def run(self) -> None:
        delivered = False
        finished = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": self.body, "more_body": False}
            await self.disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal finished
            if message["type"] == "http.response.start":
                headers = [
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]
                ]
                self.emit(("start", message["status"], headers))
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    self.emit(("body", message["body"]))
                if not message.get("more_body", False):
                    finished = True
                    self.emit(("end",))

        try:
            await self.app(self.scope, receive, send)
        except BaseException as exc:  # a drop, a cancelled task: either way the answer is cut
            if not finished:
                self.emit(("error", exc))
            if not isinstance(exc, Exception):
                raise
        else:
            if not finished:
                self.emit(("error", RuntimeError("the app ended without a complete response")))


def _broken(exc: BaseException) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(f"sandbox connection broken: {exc!r}")


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout", {})
    value = timeout.get("read") if isinstance(timeout, dict) else None
    return value if isinstance(value, int | float) else None


class _SyncBody(httpx.SyncByteStream):
    def __init__(
        self, events: queue.Queue[Event], timeout: float | None, on_close: Callable[[], None]
    ):
        self._events = events
        self._timeout = timeout
        self._on_close = on_close

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                event = self._events.get(timeout=self._timeout)
            except queue.Empty:
                raise httpx.ReadTimeout("sandbox response timed out") from None
            if event[0] == "body":
                yield event[1]
            elif event[0] == "end":
                return
            elif event[0] == "error":
                raise _broken(event[1])

    def close(self) -> None:
        self._on_close()


class SandboxTransport(httpx.BaseTransport):
    """For ``httpx.Client(transport=SandboxTransport(app), base_url="http://sandbox.local")``."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        events: queue.Queue[Event] = queue.Queue()
        exchange = _Exchange(self.app, _scope(request), body, events.put)
        loop = _private_loop()
        asyncio.run_coroutine_threadsafe(exchange.run(), loop)

        def disconnect() -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(exchange.disconnected.set)

        timeout = _read_timeout(request)
        try:
            event = events.get(timeout=timeout)
        except queue.Empty:
            disconnect()
            raise httpx.ReadTimeout("sandbox response timed out", request=request) from None
        if event[0] != "start":
            disconnect()
            raise _broken(event[1] if event[0] == "error" else RuntimeError("no response"))
        return httpx.Response(
            event[1], headers=event[2], stream=_SyncBody(events, timeout, disconnect)
        )


class _AsyncBody(httpx.AsyncByteStream):
    def __init__(
        self, events: asyncio.Queue[Event], timeout: float | None, on_close: Callable[[], None]
    ):
        self._events = events
        self._timeout = timeout
        self._on_close = on_close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            try:
                event = await asyncio.wait_for(self._events.get(), self._timeout)
            except TimeoutError:
                raise httpx.ReadTimeout("sandbox response timed out") from None
            if event[0] == "body":
                yield event[1]
            elif event[0] == "end":
                return
            elif event[0] == "error":
                raise _broken(event[1])

    async def aclose(self) -> None:
        self._on_close()


class AsyncSandboxTransport(httpx.AsyncBaseTransport):
    """For ``httpx.AsyncClient(transport=AsyncSandboxTransport(app), base_url=...)``."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        events: asyncio.Queue[Event] = asyncio.Queue()
        exchange = _Exchange(self.app, _scope(request), body, events.put_nowait)
        task = asyncio.ensure_future(exchange.run())
        self._tasks.add(task)  # keep a reference until it finishes
        task.add_done_callback(self._tasks.discard)
        timeout = _read_timeout(request)
        try:
            event = await asyncio.wait_for(events.get(), timeout)
        except TimeoutError:
            exchange.disconnected.set()
            raise httpx.ReadTimeout("sandbox response timed out", request=request) from None
        if event[0] != "start":
            exchange.disconnected.set()
            raise _broken(event[1] if event[0] == "error" else RuntimeError("no response"))
        return httpx.Response(
            event[1],
            headers=event[2],
            stream=_AsyncBody(events, timeout, exchange.disconnected.set),
        )

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
