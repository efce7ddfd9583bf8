"""Django's ASGI handler, with its middleware and views run in one thread hop per request,
on threads that are kept from one request to the next.

Every view and most middleware here are synchronous. Django's own ASGI handler builds the
middleware chain for async and adapts each piece: a synchronous middleware is called through
``sync_to_async``, the async-capable ones in between (``MiddlewareMixin``) call their
``process_request`` and ``process_response`` through it again, and the view once more. Each
crossing is a hand-over between the event loop and a worker thread: about seven per page,
3 ms of a 4 ms trivial page on this project's 2-core benchmark machine (docs/design.md,
"Serving"). Here the chain is built as under WSGI (synchronous throughout) and called with
one ``sync_to_async``: the event loop reads the request and writes the response, one worker
thread sends ``request_started``, makes the request and runs the middleware and the view, and
after the send closes the response (``request_finished``). Reading the body, the response's
send (streaming included) and the error answers are Django's own.

Django also gives each request a thread of its own (asgiref's ``ThreadSensitiveContext``),
started for it and joined after it: about 1 ms of 9 on a kept queue page. Here the request's
thread comes from a stack of idle ones and goes back to it (the context's ``executor``,
which asgiref leaves running), as a WSGI server's threads serve request after request.
Nothing of a request stays on its thread: Django keeps its per-request state (database
connections, the URL conf, the language) in context variables, not thread-locals.

An ``async def`` view would still work (Django runs it with ``async_to_sync``), slower than
under the stock handler; this project has none (the websockets go through Channels).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix


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
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self.threads.take_back(executor)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Django's ``handle``, with everything between reading the body and sending the
        response in one hop (``respond``) and no task listening for a disconnect.

        Django's own sends ``request_started`` in a hop of its own and races the view
        against a task waiting for ``http.disconnect``. Under this chain every view is
        synchronous: a thread cannot be cancelled, so that race only stopped the *send*
        to a client already gone, which uvicorn drops anyway. Streaming responses (static
        files through WhiteNoise) go out as under Django's handler, closed after sending."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            response = await sync_to_async(self.respond, thread_sensitive=True)(scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                # request_finished (the pooled connection goes back) after the last byte,
                # as Django does, and even if the send was cancelled.
                await sync_to_async(response.close, thread_sensitive=True)()
        finally:
            body_file.close()

    def respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        # On the request's own thread (thread_sensitive, Django's ThreadSensitiveContext per
        # request), like the close() after it, so database connections stay put.
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            assert error_response is not None
            return error_response
        response: HttpResponseBase = self.get_response(request)
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response


def get_application() -> SyncChainASGIHandler:
    """What ``django.core.asgi.get_asgi_application`` does, with this handler."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
