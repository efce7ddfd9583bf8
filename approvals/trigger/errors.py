"""Errors raised by the Trigger.dev client, and how an HTTP answer is classified into one.

Every error carries the HTTP ``status`` (when there was one), whether retrying could help
(``retryable``), the server's ``code`` field when it sent one, and the decoded ``body``.
Messages never contain the secret key: everything built from server text goes through a
redactor first (see ``Redactor``).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import httpx

__all__ = [
    "AuthenticationError",
    "MalformedResponseError",
    "NotFoundError",
    "RateLimitError",
    "Redactor",
    "ServerError",
    "TransportError",
    "TriggerError",
    "ValidationError",
    "error_from_response",
    "mask_secret",
]


class TriggerError(Exception):
    """Base class of everything this client raises."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        code: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.code = code
        self.body = body

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r})"


class AuthenticationError(TriggerError):
    """401 or 403: the key is wrong, expired, restricted, or lacks the scope."""


class NotFoundError(TriggerError):
    """404, or the 500 the real server answers for a missing waitpoint token (docs/trigger-v4.md,
    "Waitpoint tokens")."""


class ValidationError(TriggerError):
    """The request was refused as invalid (400, 413, 422), or rejected locally before sending."""


class RateLimitError(TriggerError):
    """429. ``reset_at`` is when the server's bucket refills, if it said so."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        retryable: bool = True,
        code: str | None = None,
        body: Any = None,
        reset_at: datetime | None = None,
    ) -> None:
        super().__init__(message, status=status, retryable=retryable, code=code, body=body)
        self.reset_at = reset_at


class ServerError(TriggerError):
    """5xx from the server."""


class TransportError(TriggerError):
    """No usable HTTP answer: connection refused or dropped, timeout, broken stream."""


class MalformedResponseError(TriggerError):
    """The server answered, but the body is not valid JSON or lacks an expected field."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        status: int | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, status=status, retryable=False, body=body)
        self.field = field


_KEY_PREFIX = re.compile(r"^((?:tr|pk)_[a-z]+_(?:sk_)?)")


def mask_secret(secret: str) -> str:
    """Show only the non-secret prefix of a key (``tr_dev_***``), so logs stay useful."""
    match = _KEY_PREFIX.match(secret)
    return (match.group(1) if match else "") + "***"


class Redactor:
    """Replaces the secret key anywhere it might show up in text we put in messages or logs."""

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._mask = mask_secret(secret)

    def __repr__(self) -> str:
        return f"Redactor({self._mask!r})"

    def __call__(self, text: str) -> str:
        if self._secret and self._secret in text:
            text = text.replace(self._secret, self._mask)
        return text

    def value(self, value: Any) -> Any:
        """Redact strings inside a decoded JSON value."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


def _decoded_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return response.text[:500]


def _reset_at(response: httpx.Response, body: Any) -> datetime | None:
    raw: Any = response.headers.get("x-ratelimit-reset")
    if raw is None and isinstance(body, dict):
        raw = body.get("reset")
    try:
        millis = float(raw)
    except (TypeError, ValueError):
        return None
    try:
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def error_from_response(
    response: httpx.Response,
    redact: Redactor,
    *,
    retryable: bool = False,
    note: str = "",
) -> TriggerError:
    """Turn a non-2xx answer into the matching ``TriggerError`` subclass."""
    status = response.status_code
    body = redact.value(_decoded_body(response))
    detail = ""
    code: str | None = None
    if isinstance(body, dict):
        raw_detail = body.get("error") or body.get("detail") or body.get("title")
        detail = str(raw_detail) if raw_detail else ""
        raw_code = body.get("code")
        code = raw_code if isinstance(raw_code, str) else None
    elif isinstance(body, str):
        detail = body.strip()[:200]
    request = response.request
    message = f"{request.method} {request.url.path} failed with HTTP {status}"
    if detail:
        message += f": {detail}"
    if note:
        message += f" ({note})"
    message = redact(message)
    kwargs: dict[str, Any] = {"status": status, "retryable": retryable, "code": code, "body": body}
    if status in (401, 403):
        return AuthenticationError(message, **kwargs)
    if status == 404:
        return NotFoundError(message, **kwargs)
    if status in (400, 413, 422):
        return ValidationError(message, **kwargs)
    if status == 429:
        return RateLimitError(message, reset_at=_reset_at(response, body), **kwargs)
    if status >= 500:
        return ServerError(message, **kwargs)
    return TriggerError(message, **kwargs)
