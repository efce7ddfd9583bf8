"""Refuse request bodies over the limit before anything reads them (ASGI middleware).

Django's ASGI handler reads the whole body into a temporary file (on disk past 2.5 MB)
before a view, or even authentication, runs: an anonymous 100 MB POST to any URL was
spooled to disk before its 401. This sits in front of Django (approvals_site/asgi.py) and
answers 413 at once:

- a declared ``Content-Length`` over the limit is refused before one byte of the body is
  read;
- a body without one (``Transfer-Encoding: chunked``) is counted while it arrives, held in
  memory only up to the limit, and refused as soon as it goes over.

The limit is ``API_MAX_BODY_BYTES`` under ``/api/`` and ``MAX_REQUEST_BODY_BYTES`` elsewhere
(docs/hardening.md, "Request bodies").
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]  # Django's handler types its arguments more narrowly

_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Request too large · Approvals"
    "</title><body>"
    "<h1>Request too large</h1><p>This request's body is over {limit:,} bytes, the most "
    "the approvals dashboard accepts.</p><p><a href='/'>Back to the approval queue</a></p>"
)


class BodyLimit:
    def __init__(self, app: ASGIApp, *, api_limit: int, page_limit: int) -> None:
        self.app = app
        self.api_limit = api_limit
        self.page_limit = page_limit

    def limit_for(self, path: str) -> int:
        return self.api_limit if path.startswith("/api/") else self.page_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None:
            if declared > limit:
                await _refuse(scope, send, limit)
                return
            await self.app(scope, receive, send)  # the server frames it to that length
            return
        # No declared length: read (at most the limit) first, then replay it to Django.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                await _refuse(scope, send, limit)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(chunks, None, receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(chunks: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read so far as one message, then the real one's."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if pending is not None:
                return pending
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return await receive()

    return replayed


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    if scope.get("path", "").startswith("/api/"):
        content_type = b"application/json"
        body = json.dumps(
            {
                "success": False,
                "message": f"Request body too large (limit {limit:,} bytes).",
                "code": "too_large",
            }
        ).encode()
    else:
        content_type = b"text/html; charset=utf-8"
        body = _PAGE.format(limit=limit).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"private, no-store"),
                (b"content-security-policy", b"default-src 'none'"),
                # The unread body makes the connection unusable for another request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
