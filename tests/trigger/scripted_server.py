"""A tiny real HTTP server on loopback that answers from a script and records every request.

Each incoming request takes the next ``Reply`` from the queue (or ``fallback`` once the queue
is empty). A reply can answer normally, stream its body in chunks, drop the connection without
answering, cut the body short, or stall (until the server stops) so the trigger times out.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    action: str = "respond"  # respond | drop | truncate | stall
    chunks: list[bytes] | None = None  # streamed one by one, no Content-Length
    chunk_pause: float = 0.0
    stall_seconds: float = 30.0


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        status=status,
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def sse_reply(text: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Reply:
    return Reply(
        body=text.encode(),
        headers={"Content-Type": "text/event-stream", **(headers or {})},
        **kwargs,
    )


def drop() -> Reply:
    return Reply(action="drop")


def stall(seconds: float = 30.0) -> Reply:
    return Reply(action="stall", stall_seconds=seconds)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        self.server.script.record(
            Recorded(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
        )
        reply = self.server.script.next_reply()
        self.close_connection = True
        if reply.action == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.action == "stall" and self.server.script.stopped.wait(reply.stall_seconds):
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.chunks is not None:
            self.end_headers()
            for chunk in reply.chunks:
                self.wfile.write(chunk)
                self.wfile.flush()
                if reply.chunk_pause and self.server.script.stopped.wait(reply.chunk_pause):
                    return
            return
        declared = len(reply.body) + (100 if reply.action == "truncate" else 0)
        self.send_header("Content-Length", str(declared))
        self.end_headers()
        self.wfile.write(reply.body)
        self.wfile.flush()
        if reply.action == "truncate":
            self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    script: ScriptedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # dropped connections are deliberate here


class ScriptedServer:
    def __init__(self, fallback: Reply | None = None) -> None:
        self.fallback = fallback or json_reply({"error": "script exhausted"}, status=599)
        self.replies: deque[Reply] = deque()
        self.requests: list[Recorded] = []
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.script = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self.replies.popleft() if self.replies else self.fallback

    def record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
