"""The one place that decides which Trigger.dev the dashboard talks to.

Both ``TRIGGER_API_URL`` and ``TRIGGER_SECRET_KEY`` set: the real API. Neither set: the
embedded sandbox, served in-process through an httpx transport, so a fresh clone runs with
no account and no extra process. No other module knows which one it is talking to.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings

from approvals.sandbox import (
    DEFAULT_SECRET_KEY,
    AsyncSandboxTransport,
    SandboxApp,
    SandboxTransport,
    create_app,
)
from approvals.trigger import AsyncTriggerClient, Pacer, RateBudget, RetryPolicy, TriggerClient

# Any host name works for the in-process transport; this one can never resolve on a network.
SANDBOX_BASE_URL = "http://sandbox.invalid"

_lock = threading.Lock()
_sandbox: SandboxApp | None = None


def embedded_sandbox() -> SandboxApp:
    """The process-wide sandbox, created and started on first use."""
    global _sandbox
    with _lock:
        if _sandbox is None:
            app = create_app(
                secret_key=DEFAULT_SECRET_KEY,
                scenario=settings.TRIGGER_SANDBOX_SCENARIO or "demo",
                seed=settings.TRIGGER_SANDBOX_SEED,
            )
            app.start()
            _sandbox = app
        return _sandbox


def _connection(timeout: float | None) -> dict[str, Any]:
    """Key, base URL and timeout of whichever Trigger.dev is configured (not the transport)."""
    timeout = settings.TRIGGER_TIMEOUT_SECONDS if timeout is None else timeout
    if settings.TRIGGER_USES_SANDBOX:
        return {"secret_key": DEFAULT_SECRET_KEY, "base_url": SANDBOX_BASE_URL, "timeout": timeout}
    return {
        "secret_key": settings.TRIGGER_SECRET_KEY or "",
        "base_url": settings.TRIGGER_API_URL or "",
        "timeout": timeout,
    }


def trigger_client(
    *,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    budget: RateBudget | None = None,
    pacer: Pacer | None = None,
) -> TriggerClient:
    """A new synchronous client; use it as a context manager.

    ``retry`` defaults to the SDK's policy (5 attempts, about 9 s of backoff at worst): callers
    on a request path pass a shorter one and leave the rest to the worker. The sync worker
    passes its ``budget`` and ``pacer`` (approvals.trigger.budget).
    """
    transport = SandboxTransport(embedded_sandbox()) if settings.TRIGGER_USES_SANDBOX else None
    return TriggerClient(
        **_connection(timeout), retry=retry, transport=transport, budget=budget, pacer=pacer
    )


def async_trigger_client(
    *, retry: RetryPolicy | None = None, timeout: float | None = None
) -> AsyncTriggerClient:
    """A new asynchronous client; use it as an async context manager."""
    transport = AsyncSandboxTransport(embedded_sandbox()) if settings.TRIGGER_USES_SANDBOX else None
    return AsyncTriggerClient(**_connection(timeout), retry=retry, transport=transport)
