from __future__ import annotations

from typing import Any

import pytest

from approvals.models import ApiToken


@pytest.fixture
def rita_token(reviewer: Any) -> str:
    """A raw API token for Rita, the reviewer."""
    _, raw = ApiToken.issue(user=reviewer, name="rita's script")
    return raw


@pytest.fixture
def api(client: Any, rita_token: str) -> Any:
    """Django's test client speaking JSON with Rita's bearer token."""

    class Api:
        def get(self, path: str, **extra: Any) -> Any:
            return client.get(path, HTTP_AUTHORIZATION=f"Bearer {rita_token}", **extra)

        def post(self, path: str, body: Any = None, *, raw: bytes | None = None) -> Any:
            import json

            data = raw if raw is not None else json.dumps(body if body is not None else {})
            return client.post(
                path,
                data=data,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {rita_token}",
            )

    return Api()


@pytest.fixture
def api_server(transactional_db: None) -> Any:
    """The whole app on a real loopback port, one thread (and DB connection) per request.

    pytest-django's ``live_server`` listens with Django's backlog of 10, and the kernel resets
    connections beyond it; 50 reviewers arriving at once need a deeper queue."""
    import threading

    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadedWSGIServer):
        request_queue_size = 256

    server = Server(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
