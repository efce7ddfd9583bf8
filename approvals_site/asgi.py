"""ASGI entry point: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "approvals_site.settings")

from approvals_site.http_handler import get_application  # noqa: E402

# Set Django up before anything imports models (Channels' documented order: the app must be ready
# first). Pages go through one thread hop each (approvals_site/http_handler.py).
django_asgi_app = get_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from approvals.body_limit import BodyLimit  # noqa: E402
from approvals.routing import websocket_urlpatterns  # noqa: E402

router = ProtocolTypeRouter(
    {
        # Oversized bodies are refused before Django reads (and spools) them.
        "http": BodyLimit(
            django_asgi_app,
            api_limit=settings.API_MAX_BODY_BYTES,
            page_limit=settings.MAX_REQUEST_BODY_BYTES,
        ),
        # Sockets trust the session cookie only, never an auth proxy's headers (which
        # approvals.auth.proxy believes only on trusted HTTP requests, where sessions are made).
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The router, plus the ASGI lifespan: live updates are sent from the server's loop, and
    with ``SYNC_IN_WEB_PROCESS`` the sync worker runs on a daemon thread of this process from
    start-up to shutdown."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    await router(scope, receive, send)


logger = logging.getLogger("approvals.startup")
# Tasks started at start-up, kept referenced until done (asyncio holds only weak references).
background: set[asyncio.Task[None]] = set()


async def _report_provider() -> None:
    from approvals.auth import checks as sso_checks

    try:
        for problem in await asyncio.to_thread(sso_checks.provider_errors):
            logger.error("%s", problem)
    finally:
        background.discard(asyncio.current_task())


async def lifespan(receive: Any, send: Any) -> None:
    from django.conf import settings

    from approvals.auth import checks as sso_checks
    from approvals.live.broadcast import sender
    from approvals.sync.worker import BackgroundWorker

    worker: BackgroundWorker | None = None
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            # Live updates are sent from this loop, where the sockets are (approvals.live).
            sender.attach(asyncio.get_running_loop())
            # The garbage collector's passes stalled pushes to 1,000 sockets by 150-250 ms
            # (README, "Live updates benchmark"). What start-up loaded (Django, the URL conf,
            # templates) lives as long as the process: freeze it out of every pass. And collect
            # the youngest objects every 100,000 allocations rather than 700, and the oldest
            # after 100 middle passes rather than 10: a server allocates in bursts (a page, a
            # push to every socket) and almost all of it is freed by reference counting.
            gc.freeze()
            gc.set_threshold(100_000, 50, 100)
            # Uvicorn runs no system checks: a malformed sign-in setup stops the process
            # here, with the check's words; a provider that does not answer is logged once
            # the server is up (approvals.auth.checks).
            fatal = sso_checks.configuration_errors()
            if fatal:
                for problem in fatal:
                    logger.error("%s", problem)
                await send({"type": "lifespan.startup.failed", "message": "; ".join(fatal)})
                return
            for problem in sso_checks.configuration_warnings():
                logger.warning("%s", problem)
            background.add(asyncio.create_task(_report_provider()))
            if settings.SYNC_IN_WEB_PROCESS:
                worker = BackgroundWorker().start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if worker is not None:
                await asyncio.to_thread(worker.stop)
            sender.attach(None)
            await send({"type": "lifespan.shutdown.complete"})
            return
