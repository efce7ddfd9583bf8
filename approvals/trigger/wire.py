"""Sans-IO request building and response parsing, shared by the sync and async clients.

``RequestBuilder`` builds ``httpx.Request`` objects with the headers the official SDK sends
(docs/trigger-v4.md, "Authentication" and "Realtime") and the query parameter names of the
server (docs/trigger-v4.md, "Runs" and "Waitpoint tokens"); the ``parse_*``
functions turn answers into records. Nothing here performs I/O.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict
from urllib.parse import quote

import httpx

from . import jsontext
from .electric import ELECTRIC_VERSION
from .errors import MalformedResponseError, Redactor, ValidationError, mask_secret
from .records import CreatedToken, Page, Run, StreamSnapshot, WaitpointToken, parse_page
from .sse import SSEParser, StreamDecoder

__all__ = [
    "API_VERSION",
    "CLIENT_VERSION",
    "DEFAULT_BASE_URL",
    "Call",
    "RequestBuilder",
    "RunFilters",
    "TokenFilters",
    "json_body",
    "next_cursor",
    "parse_complete",
    "parse_created_token",
    "parse_run",
    "parse_run_page",
    "parse_stream_snapshot",
    "parse_token",
    "parse_token_page",
]

#: ``x-trigger-api-version``: selects the v4 ("V2") status vocabulary
#: (docs/trigger-v4.md, "Run statuses").
API_VERSION = "2025-07-16"
#: Sent as ``trigger-version`` so server logs can tell this client from the TS SDK.
CLIENT_VERSION = "approvals-python/0.1"
DEFAULT_BASE_URL = "https://api.trigger.dev"

Strings = str | Sequence[str]
When = datetime | int | float | str

logger = logging.getLogger("approvals.trigger")


def _join(value: Strings | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    items = [str(v) for v in value]
    return ",".join(items) if items else None


def _epoch_ms(value: When | None) -> str | None:
    """``filter[createdAt][from|to]`` as epoch milliseconds, as the SDK sends them."""
    if value is None:
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return str(int(aware.timestamp() * 1000))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, str):
        return value  # the server also accepts ISO strings
    raise ValidationError(f"unsupported date value: {value!r}")


def _bool(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def _path_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def _encode_json(body: Any) -> bytes:
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"request body is not JSON-serialisable: {exc}") from None


class RunQuery(TypedDict, total=False):
    """The keyword filters of ``runs.list`` / ``runs.list_page`` (see ``RunFilters``)."""

    status: Strings | None
    tags: Strings | None
    task_identifier: Strings | None
    version: Strings | None
    created_from: When | None
    created_to: When | None
    period: str | None
    is_test: bool | None
    batch: str | None
    schedule: str | None
    queue: Strings | None
    machine: Strings | None
    region: Strings | None
    bulk_action: str | None
    error: str | None
    page_size: int | None


class TokenQuery(TypedDict, total=False):
    """The keyword filters of ``waitpoints.list`` / ``list_page`` (see ``TokenFilters``)."""

    status: Strings | None
    idempotency_key: str | None
    tags: Strings | None
    period: str | None
    created_from: When | None
    created_to: When | None
    page_size: int | None


@dataclass(frozen=True)
class RunFilters:
    """Filters of ``GET /api/v1/runs``. Without ``period``/``created_from``/``created_to`` the
    server only covers the last 7 days (docs/trigger-v4.md, "Runs")."""

    status: Strings | None = None
    tags: Strings | None = None
    task_identifier: Strings | None = None
    version: Strings | None = None
    created_from: When | None = None
    created_to: When | None = None
    period: str | None = None
    is_test: bool | None = None
    batch: str | None = None
    schedule: str | None = None
    queue: Strings | None = None
    machine: Strings | None = None
    region: Strings | None = None
    bulk_action: str | None = None
    error: str | None = None
    page_size: int | None = None

    def params(self) -> dict[str, str | None]:
        return {
            "page[size]": None if self.page_size is None else str(self.page_size),
            "filter[status]": _join(self.status),
            "filter[taskIdentifier]": _join(self.task_identifier),
            "filter[version]": _join(self.version),
            "filter[tag]": _join(self.tags),
            "filter[createdAt][period]": self.period,
            "filter[createdAt][from]": _epoch_ms(self.created_from),
            "filter[createdAt][to]": _epoch_ms(self.created_to),
            "filter[isTest]": _bool(self.is_test),
            "filter[batch]": self.batch,
            "filter[schedule]": self.schedule,
            "filter[bulkAction]": self.bulk_action,
            "filter[error]": self.error,
            "filter[queue]": _join(self.queue),
            "filter[machine]": _join(self.machine),
            "filter[region]": _join(self.region),
        }


@dataclass(frozen=True)
class TokenFilters:
    """Filters of ``GET /api/v1/waitpoints/tokens`` (docs/trigger-v4.md, "Waitpoint tokens").
    Note ``filter[tags]`` (plural) here, ``filter[tag]`` for runs."""

    status: Strings | None = None
    idempotency_key: str | None = None
    tags: Strings | None = None
    period: str | None = None
    created_from: When | None = None
    created_to: When | None = None
    page_size: int | None = None

    def params(self) -> dict[str, str | None]:
        return {
            "page[size]": None if self.page_size is None else str(self.page_size),
            "filter[status]": _join(self.status),
            "filter[idempotencyKey]": self.idempotency_key,
            "filter[tags]": _join(self.tags),
            "filter[createdAt][period]": self.period,
            "filter[createdAt][from]": _epoch_ms(self.created_from),
            "filter[createdAt][to]": _epoch_ms(self.created_to),
        }

    def wanted_statuses(self) -> frozenset[str] | None:
        """Statuses to re-check on the client: with several statuses the server's filter is
        loose (docs/trigger-v4.md, "Waitpoint tokens")."""
        joined = _join(self.status)
        return frozenset(s.strip() for s in joined.split(",")) if joined else None


@dataclass(frozen=True)
class Call:
    """A built request plus how to treat its answers."""

    request: httpx.Request
    # A 500 may mean "no such token" (docs/trigger-v4.md, "Waitpoint tokens").
    missing_token: bool = False


def _page_params(after: str | None, before: str | None) -> dict[str, str | None]:
    return {"page[after]": after, "page[before]": before}


class RequestBuilder:
    """Builds every request this client sends. Owns the base URL, key and timeouts."""

    def __init__(
        self,
        *,
        secret_key: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        stream_timeout_seconds: float = 60.0,
    ) -> None:
        if not isinstance(secret_key, str) or not secret_key.strip():
            raise ValidationError("a Trigger.dev secret key is required")
        if not base_url.startswith(("http://", "https://")):
            raise ValidationError(f"base_url must be an http(s) URL, got {base_url!r}")
        self._secret_key = secret_key.strip()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.stream_timeout_seconds = stream_timeout_seconds
        self.redact = Redactor(self._secret_key)

    def __repr__(self) -> str:
        return (
            f"RequestBuilder(base_url={self.base_url!r}, "
            f"secret_key={mask_secret(self._secret_key)!r})"
        )

    # -- headers -------------------------------------------------------------------------

    def rest_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._secret_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "trigger-version": CLIENT_VERSION,
            "x-trigger-source": "sdk",
            "x-trigger-api-version": API_VERSION,
            "x-trigger-request-idempotency-key": str(uuid.uuid4()),
        }

    def realtime_headers(self) -> dict[str, str]:
        # What the SDK's Electric client sends (docs/trigger-v4.md, "Realtime"): no content type,
        # no source.
        return {
            "Authorization": f"Bearer {self._secret_key}",
            "trigger-version": CLIENT_VERSION,
            "x-trigger-api-version": API_VERSION,
            "x-trigger-electric-version": ELECTRIC_VERSION,
        }

    def _timeout(self, read: float | None = None) -> dict[str, float | None]:
        t = httpx.Timeout(self.timeout, read=read if read is not None else self.timeout)
        return t.as_dict()

    def _rest(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | None] | None = None,
        body: Any = None,
        has_body: bool = False,
    ) -> httpx.Request:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        return httpx.Request(
            method,
            self.base_url + path,
            params=clean,
            headers=self.rest_headers(),
            content=_encode_json(body) if has_body else None,
            extensions={"timeout": self._timeout()},
        )

    # -- runs ----------------------------------------------------------------------------

    def list_runs(
        self, filters: RunFilters, *, after: str | None = None, before: str | None = None
    ) -> Call:
        params = {**filters.params(), **_page_params(after, before)}
        return Call(self._rest("GET", "/api/v1/runs", params=params))

    def retrieve_run(self, run_id: str) -> Call:
        return Call(self._rest("GET", f"/api/v3/runs/{_path_id(run_id, 'run_id')}"))

    # -- waitpoint tokens ----------------------------------------------------------------

    def create_token(
        self,
        *,
        idempotency_key: str | None = None,
        idempotency_key_ttl: str | None = None,
        timeout: str | datetime | None = None,
        tags: Strings | None = None,
    ) -> Call:
        body: dict[str, Any] = {}  # the server insists on a non-empty body: {} at least
        if idempotency_key is not None:
            body["idempotencyKey"] = idempotency_key
        if idempotency_key_ttl is not None:
            body["idempotencyKeyTTL"] = idempotency_key_ttl
        if timeout is not None:
            body["timeout"] = timeout.isoformat() if isinstance(timeout, datetime) else timeout
        if tags is not None:
            body["tags"] = [tags] if isinstance(tags, str) else list(tags)
        return Call(self._rest("POST", "/api/v1/waitpoints/tokens", body=body, has_body=True))

    def list_tokens(
        self, filters: TokenFilters, *, after: str | None = None, before: str | None = None
    ) -> Call:
        params = {**filters.params(), **_page_params(after, before)}
        return Call(self._rest("GET", "/api/v1/waitpoints/tokens", params=params))

    def retrieve_token(self, token_id: str) -> Call:
        path = f"/api/v1/waitpoints/tokens/{_path_id(token_id, 'token_id')}"
        return Call(self._rest("GET", path), missing_token=True)

    def complete_token(self, token_id: str, data: Any) -> Call:
        # The body key must be "data" ("output" is silently ignored: issue #2292).
        path = f"/api/v1/waitpoints/tokens/{_path_id(token_id, 'token_id')}/complete"
        return Call(self._rest("POST", path, body={"data": data}, has_body=True))

    def complete_via_callback(self, url: str, data: Any) -> Call:
        """POST to a token's callback URL: the whole body becomes the output; no auth header
        (the URL is signed), so the key is never sent to it."""
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValidationError(f"callback url must be an http(s) URL, got {url!r}")
        request = httpx.Request(
            "POST",
            url,
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "trigger-version": CLIENT_VERSION,
                "x-trigger-request-idempotency-key": str(uuid.uuid4()),
            },
            content=_encode_json(data),
            extensions={"timeout": self._timeout()},
        )
        return Call(request)

    # -- realtime ------------------------------------------------------------------------

    def realtime(self, path: str, params: Mapping[str, str], *, live: bool) -> httpx.Request:
        read = self.stream_timeout_seconds if live else None
        return httpx.Request(
            "GET",
            self.base_url + path,
            params=dict(params),
            headers=self.realtime_headers(),
            extensions={"timeout": self._timeout(read)},
        )

    def realtime_run_path(self, run_id: str) -> str:
        return f"/realtime/v1/runs/{_path_id(run_id, 'run_id')}"

    def stream(
        self,
        run_id: str,
        key: str,
        *,
        timeout_seconds: float,
        last_event_id: str | None = None,
    ) -> httpx.Request:
        """``GET /realtime/v1/streams/{runId}/{key}`` (SSE). ``Timeout-Seconds`` (1–600) is how
        long the server holds the stream open waiting for data."""
        path = f"/realtime/v1/streams/{_path_id(run_id, 'run_id')}/{_path_id(key, 'key')}"
        hold = max(1, min(600, math.ceil(timeout_seconds)))
        headers = {
            "Authorization": f"Bearer {self._secret_key}",
            "Accept": "text/event-stream",
            "Cache-Control": "no-cache",
            "trigger-version": CLIENT_VERSION,
            "x-trigger-api-version": API_VERSION,
            "Timeout-Seconds": str(hold),
        }
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        # Reads may pause while the server waits for data; allow the hold time plus slack.
        read = max(self.stream_timeout_seconds, hold + self.timeout)
        return httpx.Request(
            "GET",
            self.base_url + path,
            headers=headers,
            extensions={"timeout": self._timeout(read)},
        )


# -- parsing ---------------------------------------------------------------------------------


def json_body(response: httpx.Response) -> Any:
    try:
        return jsontext.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        snippet = response.text[:80] if response.content else "(empty body)"
        raise MalformedResponseError(
            f"{response.request.method} {response.request.url.path} returned a body that is"
            f" not valid JSON: {snippet!r}",
            field="body",
            status=response.status_code,
        ) from None


def _located(response: httpx.Response, exc: MalformedResponseError) -> MalformedResponseError:
    request = response.request
    exc.message = f"{request.method} {request.url.path}: {exc.message}"
    exc.args = (exc.message,)
    exc.status = response.status_code
    return exc


def parse_run(response: httpx.Response) -> Run:
    try:
        return Run.from_api(json_body(response))
    except MalformedResponseError as exc:
        raise _located(response, exc) from None


def _report_invalid(response: httpx.Response, page: Page[Any]) -> Page[Any]:
    for problem in page.invalid:
        logger.warning(
            "skipped an unreadable item of %s %s: %s",
            response.request.method,
            response.request.url.path,
            problem,
        )
    return page


def parse_run_page(response: httpx.Response) -> Page[Run]:
    try:
        return _report_invalid(response, parse_page(json_body(response), Run))
    except MalformedResponseError as exc:
        raise _located(response, exc) from None


def parse_token(response: httpx.Response) -> WaitpointToken:
    try:
        return WaitpointToken.from_api(json_body(response))
    except MalformedResponseError as exc:
        raise _located(response, exc) from None


def parse_token_page(
    response: httpx.Response, wanted: frozenset[str] | None = None
) -> Page[WaitpointToken]:
    try:
        page: Page[WaitpointToken] = _report_invalid(
            response, parse_page(json_body(response), WaitpointToken)
        )
    except MalformedResponseError as exc:
        raise _located(response, exc) from None
    if wanted is not None and len(wanted) > 1:
        kept = tuple(token for token in page.data if token.status in wanted)
        page = Page(kept, page.next, page.previous, page.raw, page.invalid)
    return page


def parse_created_token(response: httpx.Response) -> CreatedToken:
    try:
        return CreatedToken.from_api(json_body(response), response.headers.get("x-trigger-jwt"))
    except MalformedResponseError as exc:
        raise _located(response, exc) from None


def parse_complete(response: httpx.Response) -> None:
    """Completion answers exactly ``{"success": true}`` (also when the token was already
    completed: the server cannot tell you whether your completion won, docs/trigger-v4.md,
    "Waitpoint tokens")."""
    body = json_body(response)
    if not isinstance(body, dict) or body.get("success") is not True:
        raise _located(
            response,
            MalformedResponseError(
                f"expected field 'success' to be true, got {body!r:.80}", field="success"
            ),
        )


def next_cursor(page: Page[Any], seen: set[str]) -> str | None:
    cursor = page.next
    if cursor is None:
        return None
    if cursor in seen:
        raise MalformedResponseError(
            f"pagination.next {cursor!r} was already followed: the server is looping",
            field="pagination.next",
        )
    seen.add(cursor)
    return cursor


def parse_stream_snapshot(response: httpx.Response, last_event_id: str | None) -> StreamSnapshot:
    decoder = StreamDecoder(response.headers.get("x-stream-version"))
    parser = SSEParser()
    events = [e for m in parser.feed(response.content) for e in decoder.decode(m)]
    parser.close()
    for event in events:
        if event.id is not None:
            last_event_id = event.id
    return StreamSnapshot(chunks=tuple(e.data for e in events), last_event_id=last_event_id)
