"""Django's ASGI handler, with its middleware and views run in one thread hop per request,
on threads that are kept from one request to the next.

Every view and most middleware here are synchronous. Django's own ASGI handler builds the
middleware chain for async and adapts each piece: a synchronous middleware is called through
``sync_to_async``, the async-capable ones in between (``MiddlewareMixin``) call their
``process_request`` and ``process_response`` through it again, and the view once more. Each
crossing is a hand-over between the event loop and a worker thread: about seven per page,
3 ms of a 4 ms trivial page on this project's 2-core benchmark machine (docs/design.md,
"Serving"). Here the chain is built as under WSGI (synchronous throughout) and called in one
hop: the event loop reads the request and writes the response; one worker thread sends
``request_started``, makes the request, runs the middleware and the view and, the answer's
bytes being in memory, closes it (``request_finished``, the pooled database connection goes
back) before the loop sends it. A streamed answer (static files through WhiteNoise) is closed
after its last part, in a second hop. Reading the body, the response's send and the error
answers are Django's own.

Django also gives each request a thread of its own (asgiref's ``ThreadSensitiveContext``),
started for it and joined after it: about 1 ms of 9 on a kept queue page. Here the request's
thread comes from a stack of idle ones and goes back to it, as a WSGI server's threads serve
request after request, and the hop is the event loop's own ``run_in_executor`` in a copy of
the request's context rather than ``sync_to_async``, whose bookkeeping (carrying context
changes back to the loop, which nothing here needs) cost about 0.1 ms of a 2.5 ms kept page.
Nothing of a request stays on its thread: Django keeps its per-request state (database
connections, the URL conf, the language) in context variables, which asgiref tags with the
thread that set them, not in thread-locals.

An ``async def`` view would still work (Django runs it with ``async_to_sync``, on an event
loop of its own as under WSGI), slower than under the stock handler; this project has none
(the websockets go through Channels).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

T = TypeVar("T")


class RequestThreads:
    """At most ``size`` worker threads, each lent to one request at a time (a request waits
    for one when all are busy), kept from one request to the next. Used from one event loop.

    ``size`` is the connection pool's (``WEB_THREADS``): a request holds its pooled
    connection until it ends, so more threads than connections would only wait for the pool,
    each a thread started and taking turns at the interpreter lock meanwhile."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._idle: list[ThreadPoolExecutor] = []
        self.started = 0  # threads started so far
        self._free: asyncio.Semaphore | None = None

    async def lend(self) -> ThreadPoolExecutor:
        if self._free is None:
            self._free = asyncio.Semaphore(self.size)
        await self._free.acquire()
        if self._idle:
            return self._idle.pop()
        self.started += 1
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")

    def take_back(self, executor: ThreadPoolExecutor) -> None:
        self._idle.append(executor)
        assert self._free is not None
        self._free.release()


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.threads = RequestThreads(settings.WEB_THREADS)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django serves HTTP only, not {scope['type']}")
        executor = await self.threads.lend()
        try:
            await self.handle(scope, receive, send, executor)
        finally:
            self.threads.take_back(executor)

    async def handle(  # type: ignore[override]
        self, scope: dict[str, Any], receive: Any, send: Any, executor: ThreadPoolExecutor
    ) -> None:
        """Django's ``handle``, with everything between reading the body and sending the
        response in one hop (``respond``) and no task listening for a disconnect.

        Django's own sends ``request_started`` in a hop of its own and races the view
        against a task waiting for ``http.disconnect``. Under this chain every view is
        synchronous: a thread cannot be cancelled, so that race only stopped the *send*
        to a client already gone, which uvicorn drops anyway. A streamed answer goes out
        part by part as under Django's handler, closed after its last part."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        loop = asyncio.get_running_loop()
        # The request's own context, entered on its thread for each hop: Django's
        # per-request state (the database connection above all) lives there, tagged with
        # that thread, and is dropped with it (asgiref.local).
        context = contextvars.copy_context()

        def on_thread(fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
            return loop.run_in_executor(executor, context.run, fn, *args)

        try:
            made = on_thread(self.respond, scope, body_file)
            try:
                response = await asyncio.shield(made)
            except asyncio.CancelledError:
                # The server gave up on the request (it is shutting down). A thread cannot
                # be stopped: let it finish, close a streamed answer it made, and only then
                # give the thread back (in __call__).
                response = await _through_cancellation(made)
                if response.streaming:
                    await _through_cancellation(on_thread(response.close))
                raise
            if not response.streaming:
                await self.send_response(response, send)  # closed by respond already
                return
            await self._send_streamed(response, send, on_thread)
        finally:
            body_file.close()

    async def _send_streamed(
        self, response: HttpResponseBase, send: Any, on_thread: _OnThread
    ) -> None:
        """A streamed answer, part by part, then closed on the request's thread:
        ``request_finished`` (the pooled connection goes back) after the last byte, as Django
        does, and even if the send was cancelled."""
        close = _CloseOnce(response)
        content = None if response.is_async else response.streaming_content  # type: ignore[attr-defined]
        if isinstance(content, Iterator):
            # A file (static files through WhiteNoise): read on the request's thread, a block
            # or more a hop, and closed in the hop that reads its end. Django would read it
            # whole on another thread first, warning each time.
            response.streaming_content = self._read_on_thread(content, close, on_thread)  # type: ignore[attr-defined]
        try:
            await self.send_response(response, send)
        finally:
            if not close.done:
                await _through_cancellation(on_thread(close))

    def _read_on_thread(
        self, parts: Iterator[bytes], close: _CloseOnce, on_thread: _OnThread
    ) -> AsyncIterator[bytes]:
        def take() -> tuple[list[bytes], bool]:
            taken, size = [], 0
            for part in parts:
                taken.append(part)
                size += len(part)
                if size >= self.chunk_size:
                    return taken, False
            close()
            return taken, True

        async def from_thread() -> AsyncIterator[bytes]:
            while True:
                taken, last = await on_thread(take)
                for part in taken:
                    yield part
                if last:
                    return

        return from_thread()

    def respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        # On the request's own thread, in the request's context, like a streamed answer's
        # close() after it, so database connections stay put.
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        response: HttpResponseBase
        if request is None:
            assert error_response is not None
            response = error_response
        else:
            response = self.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if not response.streaming:
            # request_finished now, in this hop, rather than in a second one after the send:
            # every byte of the answer is in memory, and a hand-over between the loop and a
            # thread and back costs 0.1-0.3 ms on the benchmark machine (docs/design.md,
            # "Serving").
            response.close()
        return response


class _OnThread(Protocol):
    """Runs a function on the request's thread, in the request's context (``handle``)."""

    def __call__(self, fn: Callable[..., T], /, *args: Any) -> asyncio.Future[T]: ...


class _CloseOnce:
    """Closes a streamed answer once, on the request's thread: the hop reading a file's end
    may close it while a cancelled send asks again."""

    def __init__(self, response: HttpResponseBase) -> None:
        self.response = response
        self.done = False

    def __call__(self) -> None:
        if not self.done:
            self.done = True
            self.response.close()


async def _through_cancellation(future: asyncio.Future[T]) -> T:
    """``future``'s result, waited for even while the awaiting task is being cancelled
    (whoever cancelled it gets their ``CancelledError`` from the caller)."""
    while True:
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if future.cancelled():
                raise


def get_application() -> SyncChainASGIHandler:
    """What ``django.core.asgi.get_asgi_application`` does, with this handler."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
