"""A Python client for the Trigger.dev v4 HTTP API, with the seed's surface mapped onto it.

No Django here and no sandbox imports: the standard library and httpx only. See
``docs/trigger-v4.md`` for the protocol facts this follows, and ``docs/seed.md`` for the seed.
"""

from __future__ import annotations

from .async_client import AsyncTriggerClient
from .budget import Pacer, RateBudget
from .client import TriggerClient
from .errors import (
    AuthenticationError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
    TriggerError,
    ValidationError,
)
from .records import CreatedToken, Page, Run, StreamEvent, StreamSnapshot, WaitpointToken
from .retry import RetryPolicy
from .wire import API_VERSION, DEFAULT_BASE_URL

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "AsyncTriggerClient",
    "AuthenticationError",
    "CreatedToken",
    "MalformedResponseError",
    "NotFoundError",
    "Pacer",
    "Page",
    "RateBudget",
    "RateLimitError",
    "RetryPolicy",
    "Run",
    "ServerError",
    "StreamEvent",
    "StreamSnapshot",
    "TransportError",
    "TriggerError",
    "TriggerClient",
    "ValidationError",
    "WaitpointToken",
]
