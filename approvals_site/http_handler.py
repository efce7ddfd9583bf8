"""Django's ASGI handler, with its middleware and views run in one thread hop per request.

Every view and most middleware here are synchronous. Django's own ASGI handler builds the
middleware chain for async and adapts each piece: a synchronous middleware is called through
``sync_to_async``, the async-capable ones in between (``MiddlewareMixin``) call their
``process_request`` and ``process_response`` through it again, and the view once more. Each
crossing is a hand-over between the event loop and a worker thread: about seven per page,
3 ms of a 4 ms trivial page on this project's 2-core benchmark machine (docs/design.md,
"Serving"). Here the chain is built as under WSGI (synchronous throughout) and called with
one ``sync_to_async``: the event loop reads the request and writes the response, one worker
thread runs the middleware and the view. Everything else (reading the body, the request
signals, disconnects, streaming) is Django's handler unchanged.

An ``async def`` view would still work (Django runs it with ``async_to_sync``), slower than
under the stock handler; this project has none (the websockets go through Channels).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpRequest, HttpResponseBase


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def run_get_response(self, request: HttpRequest) -> Any:
        # thread_sensitive: on the request's own thread, like the signals and close() around
        # it (Django's ThreadSensitiveContext per request), so database connections stay put.
        response: HttpResponseBase = await sync_to_async(self.get_response, thread_sensitive=True)(
            request
        )
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response


def get_application() -> SyncChainASGIHandler:
    """What ``django.core.asgi.get_asgi_application`` does, with this handler."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
