"""Just enough HTTP for a tiny ASGI app: a request, buffered and streaming responses, a router."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from approvals.sandbox.context import Context


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased; a repeated header keeps its last value
    body: bytes
    base_url: str  # scheme://host[:port] as the client addressed us
    params: dict[str, str] = field(default_factory=dict)
    caller: Any = None  # the auth.Caller, once the route's auth check passed

    @classmethod
    def from_scope(cls, scope: dict[str, Any], body: bytes) -> Request:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = dict(
            parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        )
        host = headers.get("host")
        if host is None and scope.get("server"):
            server_host, server_port = scope["server"]
            host = f"{server_host}:{server_port}"
        return cls(
            method=scope["method"].upper(),
            path=scope["path"],
            query=query,
            headers=headers,
            body=body,
            base_url=f"{scope.get('scheme', 'http')}://{host or 'localhost'}",
        )

    def json(self) -> Any:
        """The parsed body; raises ValueError for invalid JSON."""
        return json.loads(self.body)


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class StreamingResponse:
    status: int
    chunks: AsyncIterator[bytes]
    headers: list[tuple[str, str]] = field(default_factory=list)


AnyResponse = Response | StreamingResponse


def json_response(
    data: Any,
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
    content_type: str = "application/json",
) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return Response(status, body, [("content-type", content_type), *(headers or [])])


def error(status: int, message: str, **extra: Any) -> Response:
    """The server's usual error body, ``{"error": "<message>", ...}`` (docs/trigger-v4.md, "Errors,
    rate limits, retries")."""
    return json_response({"error": message, **extra}, status)


Handler = Callable[["Context", Request], Awaitable[AnyResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # e.g. "/api/v3/runs/{runId}"; also the key for request stats
    kind: str  # "api", "callback", "realtime" or "control": decides limits and faults
    auth: str  # "secret" (secret key only), "jwt" (secret key or public token) or "none"
    handler: Handler
    pattern: re.Pattern[str]


def route(method: str, template: str, kind: str, auth: str, handler: Handler) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, template, kind, auth, handler, re.compile(f"^{regex}$"))


@dataclass(frozen=True)
class Match:
    route: Route | None
    params: dict[str, str]
    allowed: list[str]  # methods allowed on the path when the method did not match


def resolve(routes: list[Route], method: str, path: str) -> Match:
    allowed: list[str] = []
    for candidate in routes:
        found = candidate.pattern.match(path)
        if found is None:
            continue
        if candidate.method == method:
            return Match(candidate, found.groupdict(), [])
        allowed.append(candidate.method)
    return Match(None, {}, allowed)
