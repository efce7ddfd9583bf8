"""Pages through the ASGI handler (approvals_site/http_handler.py): the whole middleware chain
runs, on request threads that are kept and bounded."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from approvals_site.http_handler import RequestThreads, SyncChainASGIHandler


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _get(app: SyncChainASGIHandler, path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []
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

    await app(_scope(path), receive, send)
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
