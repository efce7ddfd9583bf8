"""A Trigger.dev v4 API sandbox: an ASGI app with a scenario engine, no Django, no client code.

Use it in-process through ``SandboxTransport`` / ``AsyncSandboxTransport``, or over loopback
with ``serve()`` / ``ThreadedServer``. See ``app.py`` for the request pipeline and
``scenario.py`` for what the simulated tasks do.
"""

from __future__ import annotations

from approvals.sandbox.app import DEFAULT_SECRET_KEY, SandboxApp, create_app
from approvals.sandbox.server import ThreadedServer, serve
from approvals.sandbox.transport import AsyncSandboxTransport, SandboxTransport

__all__ = [
    "DEFAULT_SECRET_KEY",
    "AsyncSandboxTransport",
    "SandboxApp",
    "SandboxTransport",
    "ThreadedServer",
    "create_app",
    "serve",
]
