"""Views for tests/test_http_handler.py: a plain page, a streamed one, and a streamed one that
waits until the test lets it answer."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path

# The thread each view ran on, in order (a test reads it).
view_threads: list[int] = []


def plain(request: HttpRequest) -> HttpResponse:
    view_threads.append(threading.get_ident())
    return HttpResponse("plain")


async def _parts() -> AsyncIterator[bytes]:
    for part in (b"one ", b"two ", b"three"):
        yield part


def streamed(request: HttpRequest) -> StreamingHttpResponse:
    view_threads.append(threading.get_ident())
    return StreamingHttpResponse(_parts())


# The held view sets ``entered`` and waits for ``release`` (a test sets it, bounded).
entered = threading.Event()
release = threading.Event()


def held(request: HttpRequest) -> StreamingHttpResponse:
    view_threads.append(threading.get_ident())
    entered.set()
    if not release.wait(timeout=30):
        raise TimeoutError("the test never released the held view")
    return StreamingHttpResponse(_parts())


urlpatterns = [path("plain", plain), path("streamed", streamed), path("held", held)]
