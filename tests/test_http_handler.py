"""Pages through the ASGI handler (approvals_site/http_handler.py): the whole middleware chain
runs, on request threads that are kept and bounded."""

from __future__ import annotations

import asyncio
import threading
import warnings
from typing import Any

import pytest
from django.core import signals

from approvals_site.http_handler import RequestThreads, SyncChainASGIHandler
from tests import http_handler_urls


def _scope(path: str, query: bytes = b"") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _get(
    app: SyncChainASGIHandler,
    path: str,
    query: bytes = b"",
    sent: list[dict[str, Any]] | None = None,
) -> tuple[int, dict[bytes, bytes], bytes]:
    sent = [] if sent is None else sent
    requested = False
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()  # the client stays connected until the answer is sent
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await app(_scope(path, query), receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers = {name.lower(): value for name, value in start["headers"]}
    return start["status"], headers, body


def test_requests_go_through_the_whole_middleware_chain_on_one_kept_thread() -> None:
    app = SyncChainASGIHandler()

    async def five() -> list[tuple[int, dict[bytes, bytes], bytes]]:
        return [await _get(app, "/healthz") for _ in range(5)]

    answers = asyncio.run(five())
    assert [(status, body) for status, _, body in answers] == [(200, b"ok")] * 5
    # The first middleware's header and the last but one's: the chain ran, synchronously.
    headers = answers[-1][1]
    assert b"content-security-policy" in headers and b"x-frame-options" in headers
    assert app.threads.started == 1


def test_no_more_threads_than_the_bound_however_many_requests_wait(settings: Any) -> None:
    app = SyncChainASGIHandler()
    app.threads = RequestThreads(3)

    async def many() -> list[tuple[int, dict[bytes, bytes], bytes]]:
        return await asyncio.gather(*(_get(app, "/healthz") for _ in range(20)))

    answers = asyncio.run(many())
    assert [status for status, _, _ in answers] == [200] * 20
    assert 1 <= app.threads.started <= 3


def test_a_request_waits_for_a_free_thread() -> None:
    threads = RequestThreads(1)

    async def scenario() -> list[str]:
        order: list[str] = []
        first = await threads.lend()
        waiting = asyncio.ensure_future(threads.lend())
        await asyncio.sleep(0)
        order.append("second waits" if not waiting.done() else "second did not wait")
        threads.take_back(first)
        second = await asyncio.wait_for(waiting, timeout=5)
        order.append("same thread" if second is first else "another thread")
        threads.take_back(second)
        return order

    assert asyncio.run(scenario()) == ["second waits", "same thread"]


@pytest.mark.django_db
def test_a_signed_out_page_view_is_sent_to_sign_in() -> None:
    app = SyncChainASGIHandler()
    status, headers, _ = asyncio.run(_get(app, "/"))
    assert status == 302 and headers[b"location"].startswith(b"/accounts/login/")


class SignalLog:
    """request_started and request_finished as they fire: the thread, and how many response
    messages had been sent by then."""

    def __init__(self, sent: list[dict[str, Any]]) -> None:
        self.sent = sent
        self.events: list[tuple[str, int, int]] = []

    def started(self, **kwargs: Any) -> None:
        self.events.append(("started", threading.get_ident(), len(self.sent)))

    def finished(self, **kwargs: Any) -> None:
        self.events.append(("finished", threading.get_ident(), len(self.sent)))

    def __enter__(self) -> SignalLog:
        signals.request_started.connect(self.started)
        signals.request_finished.connect(self.finished)
        return self

    def __exit__(self, *exc: object) -> None:
        signals.request_started.disconnect(self.started)
        signals.request_finished.disconnect(self.finished)


@pytest.fixture
def test_views(settings: Any) -> list[int]:
    settings.ROOT_URLCONF = "tests.http_handler_urls"
    http_handler_urls.view_threads.clear()
    return http_handler_urls.view_threads


def test_the_request_signals_and_the_view_share_one_thread_and_a_whole_answer_finishes_first(
    test_views: list[int],
) -> None:
    """An answer whose bytes are all in memory is closed on the request's thread before it
    is sent: one hop between the loop and the thread, not two."""
    app = SyncChainASGIHandler()
    sent: list[dict[str, Any]] = []
    with SignalLog(sent) as log:
        status, _, body = asyncio.run(_get(app, "/plain", sent=sent))
    assert (status, body) == (200, b"plain")
    [(started, started_on, _), (finished, finished_on, sent_by_then)] = log.events
    assert (started, finished) == ("started", "finished")
    assert started_on == finished_on == test_views[0] != threading.get_ident()
    assert sent_by_then == 0 and len(sent) == 2  # finished, then start and body sent


def test_a_streamed_response_goes_out_whole_then_closes_on_the_request_thread(
    test_views: list[int],
) -> None:
    app = SyncChainASGIHandler()
    sent: list[dict[str, Any]] = []
    with SignalLog(sent) as log:
        status, _, body = asyncio.run(_get(app, "/streamed", sent=sent))
    assert (status, body) == (200, b"one two three")
    assert [name for name, _, _ in log.events] == ["started", "finished"]
    assert log.events[-1][2] == len(sent)  # every part sent before request_finished
    assert log.events[-1][1] == test_views[0]


def test_a_sync_stream_is_read_on_the_request_thread_and_closed_once_without_a_warning(
    test_views: list[int],
) -> None:
    """Static files (WhiteNoise) are sync iterators: read on the request's own thread, not
    gathered whole on another after Django's warning."""
    http_handler_urls.part_threads.clear()
    app = SyncChainASGIHandler()
    sent: list[dict[str, Any]] = []
    with SignalLog(sent) as log, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status, _, body = asyncio.run(_get(app, "/sync-streamed", sent=sent))
    assert (status, body) == (200, b"first second third")
    assert not [w for w in caught if "synchronous iterators" in str(w.message)]
    assert set(http_handler_urls.part_threads) == {test_views[0]}
    [(_, started_on, _), (finished, finished_on, _)] = log.events
    assert finished == "finished" and started_on == finished_on == test_views[0]


def test_a_file_bigger_than_a_chunk_goes_out_in_chunks_and_whole(test_views: list[int]) -> None:
    app = SyncChainASGIHandler()
    sent: list[dict[str, Any]] = []
    with SignalLog(sent) as log:
        status, _, body = asyncio.run(_get(app, "/big-file", sent=sent))
    assert (status, body) == (200, http_handler_urls.BIG)
    parts = [m for m in sent if m["type"] == "http.response.body" and m.get("body")]
    assert len(parts) >= len(http_handler_urls.BIG) // app.chunk_size
    assert max(len(m["body"]) for m in parts) <= app.chunk_size
    assert [name for name, _, _ in log.events] == ["started", "finished"]
    assert log.events[-1][1] == test_views[0]


def test_a_request_cancelled_while_its_view_runs_finishes_before_its_thread_is_lent_again(
    test_views: list[int],
) -> None:
    """The server gives up on a request (shutting down) while its view runs: a thread cannot
    be stopped, so the request finishes there (its streamed answer closed, the connection
    given back) before the thread serves the next request."""
    app = SyncChainASGIHandler()
    app.threads = RequestThreads(1)
    http_handler_urls.entered.clear()
    http_handler_urls.release.clear()
    sent: list[dict[str, Any]] = []

    async def scenario() -> None:
        held = asyncio.ensure_future(_get(app, "/held", sent=sent))
        entered = await asyncio.to_thread(http_handler_urls.entered.wait, 10)
        assert entered, "the held view never ran"
        held.cancel()
        following = asyncio.ensure_future(_get(app, "/plain"))
        await asyncio.sleep(0)  # let both tasks take the cancellation and ask for a thread
        http_handler_urls.release.set()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(held, timeout=10)
        status, _, _ = await asyncio.wait_for(following, timeout=10)
        assert status == 200

    with SignalLog(sent) as log:
        asyncio.run(scenario())
    assert [name for name, _, _ in log.events] == ["started", "finished", "started", "finished"]
    assert sent == []  # nothing of the cancelled answer went out
    assert app.threads.started == 1


def test_a_request_django_cannot_read_gets_a_400_and_still_finishes() -> None:
    app = SyncChainASGIHandler()
    sent: list[dict[str, Any]] = []
    with SignalLog(sent) as log:
        status, _, _ = asyncio.run(_get(app, "/healthz", query=b"q=%ff\xff", sent=sent))
    assert status == 400
    assert [name for name, _, _ in log.events] == ["started", "finished"]


def test_a_send_cut_short_still_gives_the_connection_back(test_views: list[int]) -> None:
    """The server stops mid-answer (the task is cancelled while sending): request_finished
    still fires, so the request's pooled database connection is not lost."""
    app = SyncChainASGIHandler()
    finished = threading.Event()

    async def scenario() -> bool:
        sending = asyncio.Event()

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sending.set()
            await asyncio.Event().wait()  # never sent

        task = asyncio.ensure_future(app(_scope("/plain"), receive, send))
        await asyncio.wait_for(sending.wait(), timeout=10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return task.cancelled()

    def on_finished(**kwargs: Any) -> None:
        finished.set()

    signals.request_finished.connect(on_finished)
    try:
        assert asyncio.run(scenario())
    finally:
        signals.request_finished.disconnect(on_finished)
    assert finished.is_set()
    # The thread came back: the next request runs on it rather than starting another.
    status, _, _ = asyncio.run(_get(app, "/plain"))
    assert status == 200 and app.threads.started == 1
