"""The asyncio Trigger.dev client: the same calls as ``TriggerClient``, awaitable, plus the
realtime run feeds (``subscribe_to_run``, ``subscribe_to_runs_with_tag``).

    async with AsyncTriggerClient(secret_key="tr_dev_…") as client:
        async for run in client.runs.subscribe_to_runs_with_tag("needs-approval"):
            ...
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Unpack

import httpx

from .electric import ShapeStream, run_from_row
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

__all__ = ["AsyncTriggerClient"]

logger = logging.getLogger("approvals.trigger")


class AsyncTriggerClient:
    """Asyncio client for the Trigger.dev v4 API (see ``TriggerClient`` for the parameters;
    ``transport`` is an ``httpx.AsyncBaseTransport``)."""

    def __init__(
        self,
        secret_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        stream_timeout_seconds: float = 60.0,
    ) -> None:
        self._factory = RequestBuilder(
            secret_key=secret_key,
            base_url=base_url,
            timeout=timeout,
            stream_timeout_seconds=stream_timeout_seconds,
        )
        self.retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False)
        self._masked = mask_secret(secret_key)
        self.runs = AsyncRuns(self)
        self.waitpoints = AsyncWaitpoints(self)
        self.cache = AsyncCache(self)

    def __repr__(self) -> str:
        return f"AsyncTriggerClient(base_url={self.base_url!r}, secret_key={self._masked!r})"

    @property
    def base_url(self) -> str:
        return self._factory.base_url

    async def __aenter__(self) -> AsyncTriggerClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _sleep(self, delay: float) -> None:
        result = (self.retry.sleep or asyncio.sleep)(delay)
        if inspect.isawaitable(result):
            await result

    async def _send(self, call: Call) -> httpx.Response:
        """Send with retries; the same request (and idempotency key) on every attempt."""
        request = call.request
        attempts = Attempts(self.retry, self._factory.redact, missing_token=call.missing_token)
        while True:
            attempt = attempts.start()
            try:
                response = await self._http.send(request)
            except httpx.RequestError as exc:
                delay = attempts.after_exception(exc, request)
                reason = type(exc).__name__
            else:
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
            await self._sleep(delay)

    def _failure(self, response: httpx.Response, failures: int) -> FeedFailure:
        """Classify a non-2xx answer of a long-lived feed: raise it, or return a failure."""
        retryable = is_retryable_status(response)
        error = error_from_response(response, self._factory.redact, retryable=retryable)
        if not retryable:
            raise error
        hint = (
            self.retry.rate_limit_delay(response, failures + 1)
            if response.status_code == 429
            else None
        )
        return FeedFailure(error, hint)

    async def _give_up_or_wait(self, failure: FeedFailure, failures: int, what: str) -> None:
        limit = self.retry.realtime_max_failures
        if limit is not None and failures > limit:
            raise failure.error from None
        delay = failure.delay_hint or self.retry.backoff(failures)
        logger.warning("%s: %s; reconnecting in %.2fs", what, failure.error, delay)
        await self._sleep(delay)

    # -- Electric shapes -----------------------------------------------------------------------

    async def _shape(
        self, path: str, params: Mapping[str, str], *, stop_on_completion: bool
    ) -> AsyncGenerator[Run, None]:
        shape = ShapeStream(params)
        failures = 0
        while True:
            request = self._factory.realtime(path, shape.next_params(), live=shape.live)
            try:
                try:
                    response = await self._http.send(request)
                except httpx.RequestError as exc:
                    error = transport_error(exc, request, self._factory.redact)
                    raise FeedFailure(error) from exc
                if not (response.is_success or response.status_code == 409):
                    raise self._failure(response, failures)
            except FeedFailure as failure:
                failures += 1
                await self._give_up_or_wait(failure, failures, f"realtime {path}")
                continue
            failures = 0
            rows = shape.handle_response(response.status_code, response.headers, response.content)
            for row in rows:
                run = run_from_row(row)
                yield run
                if stop_on_completion and run.finished_at is not None:
                    return

    # -- SSE -----------------------------------------------------------------------------------

    async def _stream_once(
        self, request: httpx.Request, failures: int
    ) -> AsyncIterator[StreamEvent]:
        try:
            response = await self._http.send(request, stream=True)
        except httpx.RequestError as exc:
            raise FeedFailure(transport_error(exc, request, self._factory.redact)) from exc
        try:
            if not response.is_success:
                await response.aread()
                raise self._failure(response, failures)
            decoder = StreamDecoder(response.headers.get("x-stream-version"))
            parser = SSEParser()
            try:
                async for chunk in response.aiter_bytes():
                    for message in parser.feed(chunk):
                        for event in decoder.decode(message):
                            yield event
            except (httpx.RequestError, httpx.StreamError) as exc:
                raise FeedFailure(transport_error(exc, request, self._factory.redact)) from exc
            parser.close()
        finally:
            await response.aclose()

    async def _read_stream(
        self, run_id: str, key: str, *, last_event_id: str | None, timeout_seconds: float
    ) -> AsyncGenerator[StreamEvent, None]:
        deadline = time.monotonic() + timeout_seconds
        failures = 0
        while True:
            remaining = deadline - time.monotonic()
            request = self._factory.stream(
                run_id, key, timeout_seconds=max(remaining, 1), last_event_id=last_event_id
            )
            got_events = False
            try:
                async for event in self._stream_once(request, failures):
                    failures, got_events = 0, True
                    if event.id is not None:
                        last_event_id = event.id
                    yield event
            except FeedFailure as failure:
                failures += 1
                if time.monotonic() >= deadline:
                    raise failure.error from None
                await self._give_up_or_wait(failure, failures, f"stream {run_id}/{key}")
                continue
            if time.monotonic() >= deadline:
                return
            if not got_events:  # a clean, empty long-poll window: don't spin
                await self._sleep(self.retry.min_delay)


class AsyncRuns:
    def __init__(self, client: AsyncTriggerClient) -> None:
        self._client = client

    async def list_page(
        self,
        *,
        after: str | None = None,
        before: str | None = None,
        **query: Unpack[RunQuery],
    ) -> Page[Run]:
        """See ``Runs.list_page``: without a created-at window the server covers 7 days."""
        filters = RunFilters(**query)
        call = self._client._factory.list_runs(filters, after=after, before=before)
        return parse_run_page(await self._client._send(call))

    async def list(
        self,
        **query: Unpack[RunQuery],
    ) -> AsyncIterator[Run]:
        filters = RunFilters(**query)
        after: str | None = None
        seen: set[str] = set()
        while True:
            call = self._client._factory.list_runs(filters, after=after)
            page = parse_run_page(await self._client._send(call))
            for run in page.data:
                yield run
            after = next_cursor(page, seen)
            if after is None:
                return

    async def retrieve(self, run_id: str) -> Run:
        return parse_run(await self._client._send(self._client._factory.retrieve_run(run_id)))

    async def fetch_stream(
        self,
        run_id: str,
        key: str,
        *,
        timeout_seconds: float = 1,
        last_event_id: str | None = None,
    ) -> StreamSnapshot:
        request = self._client._factory.stream(
            run_id, key, timeout_seconds=timeout_seconds, last_event_id=last_event_id
        )
        response = await self._client._send(Call(request))
        return parse_stream_snapshot(response, last_event_id)

    def read_stream(
        self,
        run_id: str,
        key: str,
        *,
        last_event_id: str | None = None,
        timeout_seconds: float = 60,
    ) -> AsyncGenerator[StreamEvent, None]:
        return self._client._read_stream(
            run_id, key, last_event_id=last_event_id, timeout_seconds=timeout_seconds
        )

    def subscribe_to_run(
        self,
        run_id: str,
        *,
        stop_on_completion: bool = True,
        skip_columns: Strings | None = None,
    ) -> AsyncGenerator[Run, None]:
        """Follow one run (``/realtime/v1/runs/{id}``): yields it as it changes; ends once it
        has ``completedAt`` unless ``stop_on_completion=False``."""
        params = _skip(skip_columns)
        path = self._client._factory.realtime_run_path(run_id)
        return self._client._shape(path, params, stop_on_completion=stop_on_completion)

    def subscribe_to_runs_with_tag(
        self,
        tag: str | Sequence[str],
        *,
        created_at: str = "24h",
        skip_columns: Strings | None = None,
    ) -> AsyncGenerator[Run, None]:
        """Follow runs carrying ALL of the given tags created within ``created_at`` (the server
        caps it at 24h): ``/realtime/v1/runs?tags=…``. Never ends on its own."""
        tags = [tag] if isinstance(tag, str) else list(tag)
        params = {"tags": ",".join(tags), "createdAt": created_at, **_skip(skip_columns)}
        return self._client._shape("/realtime/v1/runs", params, stop_on_completion=False)


def _skip(columns: Strings | None) -> dict[str, str]:
    if not columns:
        return {}
    return {"skipColumns": columns if isinstance(columns, str) else ",".join(columns)}


class AsyncWaitpoints:
    def __init__(self, client: AsyncTriggerClient) -> None:
        self._client = client

    async def create(
        self,
        *,
        idempotency_key: str | None = None,
        idempotency_key_ttl: str | None = None,
        timeout: str | datetime | None = None,
        tags: Strings | None = None,
    ) -> CreatedToken:
        call = self._client._factory.create_token(
            idempotency_key=idempotency_key,
            idempotency_key_ttl=idempotency_key_ttl,
            timeout=timeout,
            tags=tags,
        )
        return parse_created_token(await self._client._send(call))

    async def list_page(
        self,
        *,
        after: str | None = None,
        before: str | None = None,
        **query: Unpack[TokenQuery],
    ) -> Page[WaitpointToken]:
        filters = TokenFilters(**query)
        call = self._client._factory.list_tokens(filters, after=after, before=before)
        return parse_token_page(await self._client._send(call), filters.wanted_statuses())

    async def list(
        self,
        **query: Unpack[TokenQuery],
    ) -> AsyncIterator[WaitpointToken]:
        filters = TokenFilters(**query)
        after: str | None = None
        seen: set[str] = set()
        while True:
            call = self._client._factory.list_tokens(filters, after=after)
            page = parse_token_page(await self._client._send(call), filters.wanted_statuses())
            for token in page.data:
                yield token
            after = next_cursor(page, seen)
            if after is None:
                return

    async def retrieve(self, token_id: str) -> WaitpointToken:
        call = self._client._factory.retrieve_token(token_id)
        return parse_token(await self._client._send(call))

    async def complete(self, token_id: str, data: Any) -> None:
        call = self._client._factory.complete_token(token_id, data)
        parse_complete(await self._client._send(call))

    async def complete_via_callback(self, url: str, data: Any) -> None:
        call = self._client._factory.complete_via_callback(url, data)
        parse_complete(await self._client._send(call))


class AsyncCache:
    def __init__(self, client: AsyncTriggerClient) -> None:
        self._client = client

    async def set(self, key: str, value: Any) -> None:
        token_id, data = cache_set_to_completion(key, value)
        await self._client.waitpoints.complete(token_id, data)
