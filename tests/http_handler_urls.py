"""Views for tests/test_http_handler.py: a plain page, streamed ones (from an async iterator,
from a sync one, a file), and a streamed one that waits until the test lets it answer."""

from __future__ import annotations

import io
import threading
from collections.abc import AsyncIterator, Iterator

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
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


# The thread each part of a sync-streamed answer was read on (a test reads it).
part_threads: list[int] = []
# A file bigger than several of the handler's chunks (64 KB).
BIG = bytes(range(256)) * 800


def _sync_parts() -> Iterator[bytes]:
    for part in (b"first ", b"second ", b"third"):
        part_threads.append(threading.get_ident())
        yield part


def sync_streamed(request: HttpRequest) -> StreamingHttpResponse:
    view_threads.append(threading.get_ident())
    return StreamingHttpResponse(_sync_parts())


def big_file(request: HttpRequest) -> FileResponse:
    view_threads.append(threading.get_ident())
    return FileResponse(io.BytesIO(BIG), content_type="application/octet-stream")


# The held view sets ``entered`` and waits for ``release`` (a test sets it, bounded).
entered = threading.Event()
release = threading.Event()


def held(request: HttpRequest) -> StreamingHttpResponse:
    view_threads.append(threading.get_ident())
    entered.set()
    if not release.wait(timeout=30):
        raise TimeoutError("the test never released the held view")
    return StreamingHttpResponse(_parts())


urlpatterns = [
    path("plain", plain),
    path("streamed", streamed),
    path("sync-streamed", sync_streamed),
    path("big-file", big_file),
    path("held", held),
]
