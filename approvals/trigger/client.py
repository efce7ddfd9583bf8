"""The synchronous Trigger.dev client.

    with TriggerClient(secret_key="tr_dev_…") as client:
        for run in client.runs.list(status="WAITING", tags="needs-approval", period="30d"):
            ...

Requests are built and answers parsed in ``requests.py``; retries are decided in ``retry.py``;
this module only does the I/O and the waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterator
from datetime import datetime
from typing import Any, Unpack

import httpx

from .budget import Pacer, RateBudget
from .errors import error_from_response, mask_secret
from .records import CreatedToken, Page, Run, StreamEvent, StreamSnapshot, WaitpointToken
from .retry import Attempts, FeedFailure, RetryPolicy, is_retryable_status, transport_error
from .seed import cache_set_to_completion
from .sse import SSEParser, StreamDecoder
from .wire import (
    DEFAULT_BASE_URL,
    Call,
    RequestBuilder,
    RunFilters,
    RunQuery,
    Strings,
    TokenFilters,
    TokenQuery,
    next_cursor,
    parse_complete,
    parse_created_token,
    parse_run,
    parse_run_page,
    parse_stream_snapshot,
    parse_token,
    parse_token_page,
)

__all__ = ["TriggerClient"]

logger = logging.getLogger("approvals.trigger")


class TriggerClient:
    """Blocking client for the Trigger.dev v4 API. Thread-safe as httpx.Client is.

    ``timeout`` applies to every call (connect, read, write, pool); ``stream_timeout_seconds`` is
    the read timeout of long-lived requests (SSE streams, Electric live long-polls), which the
    server may hold open while it waits for news. ``transport`` is an ``httpx.BaseTransport``
    (tests, the in-process sandbox).
    """

    def __init__(
        self,
        secret_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        stream_timeout_seconds: float = 60.0,
        budget: RateBudget | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self._factory = RequestBuilder(
            secret_key=secret_key,
            base_url=base_url,
            timeout=timeout,
            stream_timeout_seconds=stream_timeout_seconds,
        )
        self.retry = retry or RetryPolicy()
        # The environment's rate limit as the server reports it, and a local pace: both make
        # calls wait rather than burst into a 429 (approvals.trigger.budget).
        self.budget = budget
        self.pacer = pacer
        self._http = httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)
        self._masked = mask_secret(secret_key)
        self.runs = Runs(self)
        self.waitpoints = Waitpoints(self)
        self.cache = Cache(self)

    def __repr__(self) -> str:
        return f"TriggerClient(base_url={self.base_url!r}, secret_key={self._masked!r})"

    @property
    def base_url(self) -> str:
        return self._factory.base_url

    def __enter__(self) -> TriggerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _sleep(self, delay: float) -> None:
        (self.retry.sleep or time.sleep)(delay)

    def _send(self, call: Call) -> httpx.Response:
        """Send with retries (docs/trigger-v4.md, "Errors, rate limits, retries"); return a 2xx
        answer or raise a ``TriggerError``.

        The request object, and so its ``x-trigger-request-idempotency-key``, is the same on
        every attempt.
        """
        request = call.request
        attempts = Attempts(self.retry, self._factory.redact, missing_token=call.missing_token)
        while True:
            attempt = attempts.start()
            if self.pacer is not None:
                self.pacer.take()
            if self.budget is not None:
                self.budget.before_call()
            try:
                response = self._http.send(request)
            except httpx.RequestError as exc:
                delay = attempts.after_exception(exc, request)
                reason = type(exc).__name__
            else:
                if self.budget is not None:
                    self.budget.observe(response)
                logger.debug(
                    "%s %s -> %s (attempt %d)",
                    request.method,
                    request.url.path,
                    response.status_code,
                    attempt,
                )
                delay_or_none = attempts.after_response(response)
                if delay_or_none is None:
                    return response
                delay, reason = delay_or_none, f"HTTP {response.status_code}"
            logger.warning(
                "%s %s: %s; retrying in %.2fs (attempt %d of %d)",
                request.method,
                request.url.path,
                reason,
                delay,
                attempt,
                self.retry.max_attempts,
            )
            self._sleep(delay)

    # -- SSE ---------------------------------------------------------------------------------

    def _stream_once(self, request: httpx.Request, state: dict[str, Any]) -> Iterator[StreamEvent]:
        """One SSE connection. Raises ``FeedFailure`` for what deserves a reconnect."""
        try:
            response = self._http.send(request, stream=True)
        except httpx.RequestError as exc:
            raise FeedFailure(transport_error(exc, request, self._factory.redact)) from exc
        try:
            if not response.is_success:
                response.read()
                retryable = is_retryable_status(response)
                error = error_from_response(response, self._factory.redact, retryable=retryable)
                if not retryable:
                    raise error
                hint = (
                    self.retry.rate_limit_delay(response, state["failures"] + 1)
                    if response.status_code == 429
                    else None
                )
                raise FeedFailure(error, hint)
            decoder = StreamDecoder(response.headers.get("x-stream-version"))
            parser = SSEParser()
            try:
                for chunk in response.iter_bytes():
                    for message in parser.feed(chunk):
                        for event in decoder.decode(message):
                            state["events"] += 1
                            yield event
            except (httpx.RequestError, httpx.StreamError) as exc:
                raise FeedFailure(transport_error(exc, request, self._factory.redact)) from exc
            parser.close()
        finally:
            response.close()

    def _read_stream(
        self,
        run_id: str,
        key: str,
        *,
        last_event_id: str | None,
        timeout_seconds: float,
    ) -> Generator[StreamEvent, None, None]:
        deadline = time.monotonic() + timeout_seconds
        state: dict[str, Any] = {"failures": 0, "events": 0}
        while True:
            remaining = deadline - time.monotonic()
            request = self._factory.stream(
                run_id, key, timeout_seconds=max(remaining, 1), last_event_id=last_event_id
            )
            before = state["events"]
            try:
                for event in self._stream_once(request, state):
                    state["failures"] = 0
                    if event.id is not None:
                        last_event_id = event.id
                    yield event
            except FeedFailure as failure:
                state["failures"] += 1
                limit = self.retry.realtime_max_failures
                if (limit is not None and state["failures"] > limit) or (
                    time.monotonic() >= deadline
                ):
                    raise failure.error from None
                delay = failure.delay_hint or self.retry.backoff(state["failures"])
                logger.warning(
                    "stream %s/%s: %s; reconnecting in %.2fs", run_id, key, failure.error, delay
                )
                self._sleep(delay)
                continue
            if time.monotonic() >= deadline:
                return
            # A clean end only means the server's long-poll window closed: reconnect with
            # Last-Event-ID. Pause a little if the window brought nothing, to avoid spinning.
            if state["events"] == before:
                self._sleep(self.retry.min_delay)


class Runs:
    """``client.runs``: list, retrieve, and read a run's realtime streams."""

    def __init__(self, client: TriggerClient) -> None:
        self._client = client

    def list_page(
        self,
        *,
        after: str | None = None,
        before: str | None = None,
        **query: Unpack[RunQuery],
    ) -> Page[Run]:
        """One page of ``GET /api/v1/runs``. ``tags`` match ANY of the tags. Without
        ``period``/``created_from``/``created_to`` the server covers only the last 7 days."""
        filters = RunFilters(**query)
        call = self._client._factory.list_runs(filters, after=after, before=before)
        return parse_run_page(self._client._send(call))

    def list(
        self,
        **query: Unpack[RunQuery],
    ) -> Iterator[Run]:
        """Every matching run, following ``pagination.next`` (see ``list_page``)."""
        filters = RunFilters(**query)
        after: str | None = None
        seen: set[str] = set()
        while True:
            call = self._client._factory.list_runs(filters, after=after)
            page = parse_run_page(self._client._send(call))
            yield from page.data
            after = next_cursor(page, seen)
            if after is None:
                return

    def retrieve(self, run_id: str) -> Run:
        """``GET /api/v3/runs/{id}``. A 404 carries ``x-should-retry: true``, so it is retried
        (as the SDK does) before ``NotFoundError``."""
        return parse_run(self._client._send(self._client._factory.retrieve_run(run_id)))

    def fetch_stream(
        self,
        run_id: str,
        key: str,
        *,
        timeout_seconds: float = 1,
        last_event_id: str | None = None,
    ) -> StreamSnapshot:
        """Read a run's realtime stream once: the server holds it open ``timeout_seconds``
        (at least 1) and then ends it. ``.tokens`` holds the token announcements."""
        request = self._client._factory.stream(
            run_id, key, timeout_seconds=timeout_seconds, last_event_id=last_event_id
        )
        response = self._client._send(Call(request))
        return parse_stream_snapshot(response, last_event_id)

    def read_stream(
        self,
        run_id: str,
        key: str,
        *,
        last_event_id: str | None = None,
        timeout_seconds: float = 60,
    ) -> Generator[StreamEvent, None, None]:
        """Follow a run's realtime stream for up to ``timeout_seconds`` in total, reconnecting
        (with ``Last-Event-ID``) after each clean end and, with backoff, after failures."""
        return self._client._read_stream(
            run_id, key, last_event_id=last_event_id, timeout_seconds=timeout_seconds
        )


class Waitpoints:
    """``client.waitpoints``: waitpoint tokens (docs/trigger-v4.md, "Waitpoint tokens")."""

    def __init__(self, client: TriggerClient) -> None:
        self._client = client

    def create(
        self,
        *,
        idempotency_key: str | None = None,
        idempotency_key_ttl: str | None = None,
        timeout: str | datetime | None = None,
        tags: Strings | None = None,
    ) -> CreatedToken:
        """``POST /api/v1/waitpoints/tokens`` -> ``CreatedToken``. Without ``timeout`` the token
        never times out; without ``idempotency_key_ttl`` the key never expires."""
        call = self._client._factory.create_token(
            idempotency_key=idempotency_key,
            idempotency_key_ttl=idempotency_key_ttl,
            timeout=timeout,
            tags=tags,
        )
        return parse_created_token(self._client._send(call))

    def list_page(
        self,
        *,
        after: str | None = None,
        before: str | None = None,
        **query: Unpack[TokenQuery],
    ) -> Page[WaitpointToken]:
        """One page of ``GET /api/v1/waitpoints/tokens``. ``tags`` match ANY; with several
        statuses the server's filter is loose, so items are filtered again here."""
        filters = TokenFilters(**query)
        call = self._client._factory.list_tokens(filters, after=after, before=before)
        return parse_token_page(self._client._send(call), filters.wanted_statuses())

    def list(
        self,
        **query: Unpack[TokenQuery],
    ) -> Iterator[WaitpointToken]:
        filters = TokenFilters(**query)
        after: str | None = None
        seen: set[str] = set()
        while True:
            call = self._client._factory.list_tokens(filters, after=after)
            page = parse_token_page(self._client._send(call), filters.wanted_statuses())
            yield from page.data
            after = next_cursor(page, seen)
            if after is None:
                return

    def retrieve(self, token_id: str) -> WaitpointToken:
        """``GET /api/v1/waitpoints/tokens/{id}``. The server answers a missing token with 500;
        that is retried once, then raised as ``NotFoundError``."""
        return parse_token(self._client._send(self._client._factory.retrieve_token(token_id)))

    def complete(self, token_id: str, data: Any) -> None:
        """``POST …/complete`` with ``{"data": data}``. Safe to retry: completing a completed
        token is a no-op that also answers ``{"success": true}``, so this cannot tell whether
        *this* completion won. Retrieve the token to find out."""
        parse_complete(self._client._send(self._client._factory.complete_token(token_id, data)))

    def complete_via_callback(self, url: str, data: Any) -> None:
        """POST ``data`` (the whole body becomes the output) to the token's signed ``url``."""
        parse_complete(self._client._send(self._client._factory.complete_via_callback(url, data)))


class Cache:
    """The seed's ``cache.set("token:{id}:status", …)``, which completes tokens (see seed.py)."""

    def __init__(self, client: TriggerClient) -> None:
        self._client = client

    def set(self, key: str, value: Any) -> None:
        token_id, data = cache_set_to_completion(key, value)
        self._client.waitpoints.complete(token_id, data)
