"""Retry policy, modelled on the official SDK's (docs/trigger-v4.md, "Errors, rate limits,
retries"), as a sans-IO state machine.

The sync and async clients run the same loop: send, then ask ``Attempts`` what to do with the
answer (return it, wait and resend, or raise). Only the waiting differs between them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .errors import (
    NotFoundError,
    Redactor,
    TransportError,
    error_from_response,
)

__all__ = ["Attempts", "RetryPolicy", "is_retryable_status", "transport_error"]

_RETRYABLE_STATUSES = frozenset({408, 409, 429})


def is_retryable_status(response: httpx.Response) -> bool:
    """The SDK's ``shouldRetry``: ``x-should-retry`` wins, then 408, 409, 429 and 5xx."""
    hint = response.headers.get("x-should-retry", "").strip().lower()
    if hint == "true":
        return True
    if hint == "false":
        return False
    status = response.status_code
    return status in _RETRYABLE_STATUSES or status >= 500


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    Delay before retry *n* (1-based) is ``min(max_delay, min_delay * factor ** (n - 1))``:
    1.0, 1.6, 2.56, 4.096 s with the defaults, like the SDK. A 429 waits until
    ``x-ratelimit-reset`` instead (capped at ``max_delay``).

    ``sleep`` replaces ``time.sleep`` / ``asyncio.sleep`` (it may return an awaitable in the
    async client); ``clock`` replaces ``time.time`` for the rate-limit reset. Both exist so tests
    run without real waiting. ``realtime_max_failures`` bounds consecutive failed reconnects of
    realtime feeds and streams; ``None`` retries forever, as the SDK does.
    """

    max_attempts: int = 5
    min_delay: float = 1.0
    max_delay: float = 30.0
    factor: float = 1.6
    sleep: Callable[[float], Any] | None = field(default=None, compare=False)
    clock: Callable[[], float] | None = field(default=None, compare=False)
    realtime_max_failures: int | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.min_delay < 0 or self.max_delay < 0 or self.factor < 1:
            raise ValueError("delays must be >= 0 and factor >= 1")

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt number ``attempt`` (1-based). The one backoff formula of
        the project: the client's retries, the realtime reconnects and the delivery retries
        (approvals.decisions) all use it. The exponent is bounded, so a worker that has failed
        for days still gets ``max_delay`` rather than an overflow."""
        exponent = min(max(0, attempt - 1), 64)
        return min(self.max_delay, self.min_delay * self.factor**exponent)

    def now(self) -> float:
        return (self.clock or time.time)()

    def rate_limit_delay(self, response: httpx.Response, attempt: int) -> float:
        """Wait until ``x-ratelimit-reset`` (unix ms) if it is in the future, else back off."""
        try:
            reset_ms = float(response.headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            return self.backoff(attempt)
        wait = reset_ms / 1000 - self.now()
        return min(self.max_delay, wait) if wait > 0 else self.backoff(attempt)


def _looks_like_missing_token(response: httpx.Response) -> bool:
    if response.status_code != 500:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") == "Internal Server Error"


class Attempts:
    """Counts attempts of one call and decides, after each, whether to retry and how long to wait.

    ``after_response`` returns ``None`` for a final success, a delay in seconds to retry, or
    raises the classified error. ``after_exception`` returns a delay or raises ``TransportError``.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        redact: Redactor,
        *,
        missing_token: bool = False,
    ) -> None:
        self.policy = policy
        self.redact = redact
        self.missing_token = missing_token
        self.attempt = 0
        self._missing_token_answers = 0

    def start(self) -> int:
        self.attempt += 1
        return self.attempt

    @property
    def exhausted(self) -> bool:
        return self.attempt >= self.policy.max_attempts

    def after_response(self, response: httpx.Response) -> float | None:
        if response.is_success:
            return None
        if self.missing_token and _looks_like_missing_token(response):
            # The real server reports a missing token as 500 "Internal Server Error"
            # (docs/trigger-v4.md, "Waitpoint tokens"). Try once more in case it really was
            # transient, then call it not found.
            self._missing_token_answers += 1
            if self._missing_token_answers >= 2 or self.exhausted:
                error = error_from_response(response, self.redact)
                raise NotFoundError(
                    error.message + " (the Trigger.dev server reports a missing waitpoint token"
                    " as 500 Internal Server Error, so this token most likely does not exist)",
                    status=500,
                    body=error.body,
                )
            return self.policy.backoff(self.attempt)
        retryable = is_retryable_status(response)
        if not retryable or self.exhausted:
            note = (
                f"gave up after {self.attempt} attempts" if retryable and self.attempt > 1 else ""
            )
            raise error_from_response(response, self.redact, retryable=retryable, note=note)
        if response.status_code == 429:
            return self.policy.rate_limit_delay(response, self.attempt)
        return self.policy.backoff(self.attempt)

    def after_exception(self, exc: httpx.HTTPError, request: httpx.Request) -> float:
        if self.exhausted:
            raise transport_error(exc, request, self.redact, attempts=self.attempt) from exc
        return self.policy.backoff(self.attempt)


def transport_error(
    exc: httpx.HTTPError | httpx.StreamError,
    request: httpx.Request,
    redact: Redactor,
    *,
    attempts: int = 1,
) -> TransportError:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    detail = str(exc) or type(exc).__name__
    suffix = f" after {attempts} attempts" if attempts > 1 else ""
    message = f"{request.method} {request.url.path} {kind}{suffix}: {type(exc).__name__}: {detail}"
    return TransportError(redact(message), retryable=True)


class FeedFailure(Exception):
    """A connection of a long-lived feed or stream failed in a way worth reconnecting after;
    ``delay_hint`` is the wait the server asked for (a 429's reset), if any."""

    def __init__(self, error: Exception, delay_hint: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.delay_hint = delay_hint
