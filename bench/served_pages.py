"""Benchmark: the pages as production serves them (uvicorn, signed in) beside the same pages
rendered in-process, and throughput for several process models.

Production shape: DJANGO_DEBUG=false, a secret key, PostgreSQL (a fresh database this script
creates and drops), a standalone sandbox (``manage.py trigger_sandbox --scenario empty``) as
TRIGGER_API_URL, filled through its control endpoint and read in by ``manage.py
sync_approvals --once`` (no VACUUM or ANALYZE here: the statistics are whatever the sync and
autovacuum leave, as in a deployment). A superuser signs in through the real form with httpx;
served pages are then timed with a lean keep-alive client (LeanClient: httpx's own Python
costs about 0.45 ms a request, which a browser does not spend), and the kept queue page
through httpx too, to show that cost.

Prints, in one table:
  * latency p50/p99 of the queue page at each size (default 100, 1,000 and 10,000 pending),
    of an approval's page and of the JSON API's list (bearer token): served by one uvicorn
    process, and in-process (Django's test Client in this process, same database), with the
    served anonymous sign-in page as the floor, and the kept page's own bytes answered by a
    bare ASGI app (bench/replay_app.py) as the floor of HTTP alone;
  * throughput (requests/s) of the queue page with 16 and 64 concurrent signed-in clients:
    one uvicorn process (asyncio/h11 and uvloop/httptools), ``uvicorn --workers N`` (one
    shared socket) and the production model ``python -m approvals_site.serve --workers N``
    (a socket per worker), for each N in ``--workers`` (default 2,3); then the pool size
    (DATABASE_POOL_MAX_SIZE) under the production model, with the most PostgreSQL
    connections seen; and where the CPU went (the web processes, everything else), with the
    most each model could do with every core busy;
  * the web processes' memory (RSS): one process at the largest size, and every process model
    after its load (at ``--throughput-at``, default 1,000 pending).

Run: .venv/bin/python bench/served_pages.py [--sizes 100,1000,10000] [--quick]
It is a measurement, not a test. Filling the sandbox dominates at 10,000 (minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
DB_NAME = f"approvals_served_{os.getpid()}"
DB_URL = f"{PG_SERVER}/{DB_NAME}"
USERNAME, PASSWORD = "benchadmin", "bench-" + secrets.token_urlsafe(12)
SANDBOX_KEY = "tr_dev_" + "servedbench" + "0" * 13  # tr_<env>_ + 24 characters
TASKS = ("deploy-service", "refund-customer", "publish-post")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _environment(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "approvals_site.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "served-bench-" + "k" * 50,
        "DATABASE_URL": DB_URL,
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "TRIGGER_SECRET_KEY": SANDBOX_KEY,
        "SYNC_IN_WEB_PROCESS": "false",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def _wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer in {timeout:.0f} s")


def _rss_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(match.group(1)) / 1024 if match else 0.0


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


@dataclass
class Server:
    """A uvicorn serving the dashboard (one process, or a master with workers)."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def memory(self) -> tuple[float, list[float]]:
        """RSS in MB of the master and of each worker (not multiprocessing's resource
        tracker, a small helper process the supervisor also starts)."""
        workers = [
            pid
            for pid in _children(self.process.pid)
            if b"resource_tracker" not in _command_line(pid)
        ]
        return _rss_mb(self.process.pid), [_rss_mb(pid) for pid in workers]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _listeners(port: int) -> int:
    """How many sockets listen on the loopback ``port``."""
    listening = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        listening += int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A"
    return listening


@contextmanager
def uvicorn(
    env: dict[str, str],
    *,
    workers: int = 1,
    fast: bool = True,
    pool: int | None = None,
    app: str = "approvals_site.asgi:application",
    own_sockets: bool = False,
) -> Iterator[Server]:
    """uvicorn serving ``app``; with ``own_sockets``, the production process model instead
    (``python -m approvals_site.serve``: workers with a listening socket each)."""
    port = _free_port()
    # Spelled out: "auto" would pick uvloop/httptools whenever they are installed.
    loop = ["--loop", "uvloop", "--http", "httptools"] if fast else ["--loop", "asyncio"]
    if not fast:
        loop += ["--http", "h11"]
    command = [str(ROOT / ".venv" / "bin" / "uvicorn"), app, "--app-dir", str(ROOT)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", *loop]
    if workers > 1:
        command += ["--workers", str(workers)]
    if own_sockets:  # uvloop/httptools, no access log: its defaults
        command = [PYTHON, "-m", "approvals_site.serve", "--port", str(port)]
        command += ["--workers", str(workers)]
    extra = {"DATABASE_POOL_MAX_SIZE": str(pool)} if pool else {}
    log = Path(tempfile.mkstemp(prefix="served-bench-", suffix=".log")[1])
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=_environment(**env, **extra), stdout=sink, stderr=sink
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_http(server.url + "/healthz")
        if own_sockets:  # every worker listening, else the first ones get every connection
            deadline = time.monotonic() + 60
            while _listeners(port) < workers:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{workers} workers did not all listen in 60 s")
                time.sleep(0.1)
        yield server
    finally:
        server.stop()
        log.unlink(missing_ok=True)


@contextmanager
def replayed(env: dict[str, str], web: httpx.Client) -> Iterator[LeanClient]:
    """A client, with ``web``'s cookies, of a bare ASGI app answering with the queue page
    ``web`` is served now (kept): status, headers (cookie included) and body."""
    page = web.get("/")
    expect_counted(page)
    recorded = {
        "status": page.status_code,
        # uvicorn adds its own date and server headers.
        "headers": [(k, v) for k, v in page.headers.multi_items() if k not in ("date", "server")],
        "body": page.text,
    }
    handle, name = tempfile.mkstemp(prefix="served-bench-page-", suffix=".json")
    os.close(handle)
    path = Path(name)
    path.write_text(json.dumps(recorded))
    try:
        replay_env = {**env, "REPLAY_FILE": str(path)}
        with uvicorn(replay_env, app="bench.replay_app:app") as server:
            client = LeanClient(server.url, web.cookies)
            try:
                yield client
            finally:
                client.close()
    finally:
        path.unlink(missing_ok=True)


def sign_in(url: str) -> httpx.Client:
    """A client signed in through the real sign-in form."""
    client = httpx.Client(base_url=url, timeout=60, follow_redirects=True)
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the sign-in page"
    answer = client.post(
        "/accounts/login/",
        data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
    )
    assert answer.status_code == 200 and "/accounts/login" not in str(answer.url), answer.url
    client.follow_redirects = False
    return client


@dataclass
class Timings:
    values: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return _percentile(self.values, 0.5) * 1000

    @property
    def p99(self) -> float:
        return _percentile(self.values, 0.99) * 1000


def interleaved(probes: dict[str, Callable[[], None]], samples: int) -> dict[str, Timings]:
    """Each probe ``samples`` times, one of each per round, so that machine noise (autovacuum
    after a sync, another process) hits all alike: in blocks of a few dozen, one burst could
    land on the served figure alone and not on the in-process one beside it."""
    out = {name: Timings() for name in probes}
    for probe in probes.values():  # warm: templates, connections, the task menu's cache
        for _ in range(3):
            probe()
    for _ in range(samples):
        for name, probe in probes.items():
            started = time.perf_counter()
            probe()
            out[name].values.append(time.perf_counter() - started)
    return out


def expect(response: Any, path: str) -> None:
    status = response.status_code
    assert status == 200, f"{path}: {status}"


def fetch(client: Any, path: str) -> None:
    expect(client.get(path), path)


# How the served queue pages were made, from their Server-Timing header: kept or rendered.
served_how: Counter[str] = Counter()


def expect_counted(response: Any) -> None:
    """The queue page; counts whether it was a kept page or rendered for the request."""
    expect(response, "/")
    how = response.headers.get("server-timing", "")  # httpx: any case; LeanClient: lower
    served_how["kept" if "kept" in how else "rendered"] += 1


# --- Filling --------------------------------------------------------------------------------


def fill(sandbox_url: str, have: int, want: int) -> None:
    started = time.perf_counter()
    with httpx.Client(base_url=sandbox_url, timeout=30) as client:
        for i in range(have, want):
            client.post(
                "/_sandbox/runs",
                json={
                    "task": TASKS[i % 3],
                    "payload": {"i": i, "service": "billing", "note": "x" * 40},
                    "description": f"Benchmark approval {i}",
                    # Spread expiries, so the queue's order by time left is a real sort.
                    "timeout": f"{2 + i % 72}h",
                    "requestedBy": "requester@example.com",
                },
            ).raise_for_status()
    print(f"  sandbox: {want - have} runs started in {time.perf_counter() - started:.1f} s")


def sync(env: dict[str, str]) -> None:
    started = time.perf_counter()
    _manage(env, "sync_approvals", "--once")
    print(f"  sync_approvals --once: {time.perf_counter() - started:.1f} s")


def queue_plan() -> str:
    """How PostgreSQL reads the queue's page now (stale statistics show here)."""
    from django.db import connection

    from approvals.queries import QueueFilters, pending_queue

    sql, params = pending_queue(QueueFilters())[:25].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        lines = [row[0] for row in cursor.fetchall()]
    steps = [line.strip().removeprefix("->").strip() for line in lines]
    return "; ".join(step.split("  (")[0] for step in steps if "Scan" in step or "Sort " in step)


# --- Throughput -----------------------------------------------------------------------------


def _request(url: str, path: str, cookies: httpx.Cookies | None, headers: dict[str, str]) -> bytes:
    """The bytes of a GET of ``path`` on HTTP/1.1 keep-alive, with ``cookies`` and ``headers``."""
    parts = httpx.URL(url)
    lines = [f"GET {path} HTTP/1.1", f"Host: {parts.host}:{parts.port}"]
    if cookies:
        lines.append("Cookie: " + "; ".join(f"{name}={value}" for name, value in cookies.items()))
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _head(head: bytes) -> tuple[int, dict[str, str], int]:
    """Status, headers (names in lower case) and Content-Length of a response's head."""
    status_line, *fields = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in fields:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:  # every page here has a length; anything else is an error
        raise AssertionError(f"no Content-Length: {head[:200]!r}")
    return int(status_line.split(" ", 2)[1]), headers, int(headers["content-length"])


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]
    content: bytes


class LeanClient:
    """A client for the latency figures: one keep-alive connection and just enough HTTP/1.1
    for GET, in a few microseconds. httpx spends about 0.45 ms of Python on each request
    (measured against bench/replay_app.py: 0.55 ms with httpx, 0.11 ms with this), which a
    browser, whose HTTP is native code, does not; timed with httpx, a served page is charged
    for the client. The run prints the kept queue page through httpx as well."""

    def __init__(
        self, url: str, cookies: httpx.Cookies | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self.url, self.cookies, self.headers = url, cookies, headers or {}
        self.sock: socket.socket | None = None
        self.rest = b""

    def _connect(self) -> socket.socket:
        if self.sock is None:
            parts = httpx.URL(self.url)
            self.sock = socket.create_connection((parts.host, parts.port or 80), timeout=60)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.rest = b""
        return self.sock

    def get(self, path: str) -> Answer:
        reused = self.sock is not None
        try:
            return self._get(path)
        except ConnectionError:
            if not reused:
                raise
            # uvicorn closes a connection idle for 5 s (the bench fills the sandbox between
            # figures); as browsers and httpx do, ask again once on a new connection.
            self.close()
            return self._get(path)

    def _get(self, path: str) -> Answer:
        sock = self._connect()
        sock.sendall(_request(self.url, path, self.cookies, self.headers))
        data = self.rest
        while (end := data.find(b"\r\n\r\n")) < 0:
            data += self._receive(sock)
        status, headers, length = _head(data[:end])
        body = data[end + 4 :]
        while len(body) < length:
            body += self._receive(sock)
        self.rest = body[length:]
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Answer(status, headers, body[:length])

    def _receive(self, sock: socket.socket) -> bytes:
        chunk = sock.recv(1 << 16)
        if not chunk:
            self.close()
            raise ConnectionError("the server closed the connection mid-response")
        return chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class KeepAliveClient:
    """One signed-in client on one keep-alive connection, asking for the queue page, for the
    throughput figures. The load generator shares the machine with the server: httpx's pool
    spent more CPU per request than a kept queue page, and with 64 connections more still (it
    scans its pool), so the figures measured the client rather than the server."""

    def __init__(self, url: str, cookies: httpx.Cookies) -> None:
        parts = httpx.URL(url)
        self.host, self.port = parts.host, parts.port or 80
        self.request = _request(url, "/", cookies, {})
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(self.request)
        status, _, length = _head((await self.reader.readuntil(b"\r\n\r\n"))[:-4])
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with suppress(Exception):
                await self.writer.wait_closed()


async def _load(
    url: str, cookies: httpx.Cookies, clients: int, seconds: float, cpu: CpuWatch
) -> dict[str, Any]:
    """``clients`` keep-alive clients asking for the queue page for ``seconds``; ``cpu``
    watches the timed part (not the warm-up)."""
    done: list[float] = []
    errors = 0
    pool = [KeepAliveClient(url, cookies) for _ in range(clients)]
    try:
        # Warm every worker's templates and pool first (the kernel spreads connections).
        await asyncio.gather(*(client.get() for client in pool))
        stop = time.perf_counter() + seconds

        async def one(client: KeepAliveClient) -> None:
            nonlocal errors
            while (started := time.perf_counter()) < stop:
                if await client.get() != 200:
                    errors += 1
                done.append(time.perf_counter() - started)

        began = time.perf_counter()
        with cpu:
            await asyncio.gather(*(one(client) for client in pool))
        took = time.perf_counter() - began
    finally:
        await asyncio.gather(*(client.close() for client in pool))
    return {
        "requests": len(done),
        "rps": len(done) / took,
        "p50": _percentile(done, 0.5) * 1000,
        "p99": _percentile(done, 0.99) * 1000,
        "errors": errors,
    }


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    """CPU time the whole machine spent not idle, summed over its cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")  # idle, iowait


class CpuWatch:
    """Where the CPU went during a load: the server's processes, this process (the load
    generator) and everything else on the machine (PostgreSQL, the kernel's loopback
    networking, Redis). On a shared machine the server can never have all of it: the
    ceiling for any process model is the cores divided by the server's share per request."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.server = self.machine = self.wall = 0.0

    def _sample(self) -> tuple[float, float, float]:
        tree = [self.server_pid, *_children(self.server_pid)]
        return (
            sum(_cpu_seconds(pid) for pid in tree),
            _machine_busy_seconds(),
            time.perf_counter(),
        )

    def __enter__(self) -> CpuWatch:
        self._start = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._sample()
        self.server, self.machine, self.wall = (
            after - before for after, before in zip(end, self._start, strict=True)
        )


class ConnectionWatch:
    """The most PostgreSQL connections to the benchmark database, polled while loaded."""

    def __init__(self) -> None:
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            while not self._stop.wait(0.1):
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [DB_NAME]
                ).fetchone()
                self.most = max(self.most, int(row[0]) if row else 0)

    def __enter__(self) -> ConnectionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def throughput(
    env: dict[str, str],
    cookies: httpx.Cookies,
    *,
    workers: int,
    fast: bool,
    clients: list[int],
    seconds: float,
    pool: int | None = None,
    own_sockets: bool = False,
) -> tuple[list[dict[str, Any]], tuple[float, list[float]]]:
    results = []
    with uvicorn(env, workers=workers, fast=fast, pool=pool, own_sockets=own_sockets) as server:
        for count in clients:
            cpu = CpuWatch(server.process.pid)
            with ConnectionWatch() as watch:
                figures = asyncio.run(_load(server.url, cookies, count, seconds, cpu))
            per_request = 1000 / max(1, figures["requests"])  # ms of CPU per request
            results.append(
                {
                    **figures,
                    "clients": count,
                    "connections": watch.most,
                    "server_ms": cpu.server * per_request,
                    "rest_ms": (cpu.machine - cpu.server) * per_request,
                    "cores_busy": cpu.machine / cpu.wall,
                }
            )
        memory = server.memory()
    return results, memory


# --- Main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,1000,10000", help="pending approvals, in order")
    parser.add_argument("--samples", type=int, default=100, help="latency samples per figure")
    parser.add_argument("--seconds", type=float, default=8.0, help="each throughput run")
    parser.add_argument("--clients", default="16,64")
    parser.add_argument("--workers", default="2,3")
    parser.add_argument("--pools", default="4,10", help="DATABASE_POOL_MAX_SIZE values")
    parser.add_argument(
        "--throughput-at",
        type=int,
        default=1000,
        help="pending approvals for the throughput runs (one of --sizes; else the largest)",
    )
    parser.add_argument("--quick", action="store_true", help="few samples, short runs")
    parser.add_argument("--latency-only", action="store_true", help="no throughput runs")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    clients = [int(c) for c in args.clients.split(",")]
    worker_counts = [int(w) for w in args.workers.split(",")]
    pools = [int(p) for p in args.pools.split(",") if p]
    if args.quick:
        args.samples, args.seconds = 25, 3.0

    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    sandbox_port = _free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    env = _environment(TRIGGER_API_URL=sandbox_url)
    sandbox = subprocess.Popen(
        [PYTHON, "manage.py", "trigger_sandbox", "--scenario", "empty"]
        + ["--port", str(sandbox_port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        run(args, env, sandbox_url, sizes, clients, worker_counts, pools)
    finally:
        sandbox.terminate()
        sandbox.wait()
        if "django.db" in sys.modules and os.environ.get("DJANGO_SETTINGS_MODULE"):
            from django.db import connections

            connections.close_all()
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def run(
    args: argparse.Namespace,
    env: dict[str, str],
    sandbox_url: str,
    sizes: list[int],
    clients: list[int],
    worker_counts: list[int],
    pools: list[int],
) -> None:
    print(f"Served pages benchmark: db {DB_NAME}, sizes {sizes}, {args.samples} samples each")
    _manage(env, "migrate", "--noinput")
    _manage(
        {
            **env,
            "DJANGO_SUPERUSER_USERNAME": USERNAME,
            "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
            "DJANGO_SUPERUSER_EMAIL": "bench@example.com",
        },
        "createsuperuser",
        "--noinput",
    )
    api_token = _manage(env, "create_api_token", USERNAME, "--name", "bench").strip()
    _wait_http(sandbox_url + "/_sandbox/stats")

    # Django in this process, as the served one is configured: the in-process figures.
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from approvals.models import Approval, ApprovalState

    local = Client(HTTP_HOST="127.0.0.1")
    local.force_login(get_user_model().objects.get(username=USERNAME))
    bearer = {"Authorization": f"Bearer {api_token}"}

    # Throughput runs at one size, before the database grows past it (it is filled in order).
    throughput_size = args.throughput_at if args.throughput_at in sizes else sizes[-1]
    load_lines: list[str] = []
    rows: list[tuple[str, int, Timings, Timings, Timings]] = []
    floor_all = Timings()
    bare_all = Timings()
    httpx_all = Timings()
    plans: list[str] = []
    have = 0
    from approvals.presentation import queue_cache

    def rendered_locally() -> None:
        size, queue_cache.pages.size = queue_cache.pages.size, 0
        try:
            expect(local.get("/"), "/")
        finally:
            queue_cache.pages.size = size

    # A second server with no kept pages: every queue page rendered (the figure before
    # approvals.presentation.queue_cache, and the cost of the first view after a change).
    with uvicorn(env) as server, uvicorn({**env, "QUEUE_PAGE_CACHE_ENTRIES": "0"}) as renderer:
        web_httpx = sign_in(server.url)
        web = LeanClient(server.url, web_httpx.cookies)
        web_rendered = LeanClient(renderer.url, sign_in(renderer.url).cookies)
        anon = LeanClient(server.url)
        api = LeanClient(server.url, headers=bearer)
        for size in sizes:
            print(f"\n[{size} pending]")
            fill(sandbox_url, have, size)
            have = size
            sync(env)
            pending = Approval.objects.filter(state=ApprovalState.PENDING).count()
            plans.append(f"{pending} pending: {queue_plan()}")
            token = Approval.objects.filter(state=ApprovalState.PENDING).first()
            assert token is not None
            detail = f"/approvals/{token.token_id}/"
            probes: dict[str, Callable[[], None]] = {
                "floor": lambda: expect(anon.get("/accounts/login/"), "sign-in"),
                "queue served": lambda: expect_counted(web.get("/")),
                "queue httpx": lambda: expect_counted(web_httpx.get("/")),
                "queue local": lambda: expect(local.get("/"), "/"),
                "rendered served": lambda: expect(web_rendered.get("/"), "/"),
                "rendered local": rendered_locally,
                "detail served": partial(fetch, web, detail),
                "detail local": partial(fetch, local, detail),
                "api served": lambda: expect(api.get("/api/approvals"), "/api/approvals"),
                "api local": lambda: expect(
                    local.get("/api/approvals", headers=bearer), "/api/approvals"
                ),
            }
            # The same bytes from a bare ASGI app (bench/replay_app.py): HTTP alone.
            with replayed(env, web_httpx) as bare:
                probes["http alone"] = lambda: expect(bare.get("/"), "replayed page")
                timed = interleaved(probes, args.samples)
            bare_all.values += timed["http alone"].values
            httpx_all.values += timed["queue httpx"].values
            floor_all.values += timed["floor"].values
            for page in ("queue", "rendered", "detail", "api"):
                rows.append(
                    (page, size, timed[f"{page} served"], timed[f"{page} local"], timed["floor"])
                )
            one_process = server.memory()[0]
            if size == throughput_size and not args.latency_only:
                load_lines = load_table(
                    args, env, web_httpx.cookies, size, clients, worker_counts, pools
                )

    print("\nLatency (ms), served by one uvicorn process (uvloop/httptools), timed with a lean")
    print("keep-alive client (LeanClient), vs in-process (Django's test Client);")
    print("'queue' is a kept page (approvals.presentation.queue_cache), 'rendered' the same page")
    print("rendered for each request (QUEUE_PAGE_CACHE_ENTRIES=0)")
    head = f"{'page':<8}{'pending':>8} {'served p50':>11}{'p99':>8} {'in-proc p50':>12}"
    head += f"{'p99':>8} {'sign-in p50':>12} {'served/in-proc':>15} {'served/sign-in':>15}"
    print(head)
    for page, size, served, inproc, floor in rows:
        print(
            f"{page:<8}{size:>8,} {served.p50:>11.1f}{served.p99:>8.1f} {inproc.p50:>12.1f}"
            f"{inproc.p99:>8.1f} {floor.p50:>12.1f} {served.p50 / inproc.p50:>15.2f}"
            f" {served.p50 / floor.p50:>15.2f}"
        )
    print(
        f"served queue pages: {served_how['kept']} kept, {served_how['rendered']} rendered"
        " (the first view after each sync)"
    )
    kept_local = Timings([v for p, _, _, inproc, _ in rows if p == "queue" for v in inproc.values])
    least = kept_local.p50 + bare_all.p50
    print(
        f"HTTP alone (the kept page's bytes from a bare ASGI app, same uvicorn, lean client):"
        f" p50 {bare_all.p50:.2f} ms, the part of a served figure that is uvicorn, the loopback"
        f" and the client; in-process plus that is {least:.2f} ms, {least / kept_local.p50:.2f}x"
        " in-process (a served page can come in under it: the in-process figure carries the"
        " test Client's own work, building the request and reading the response)."
    )
    kept_served = Timings([v for p, _, s, _, _ in rows if p == "queue" for v in s.values])
    print(
        f"the kept queue page timed through httpx instead: p50 {httpx_all.p50:.2f} ms against"
        f" {kept_served.p50:.2f} ms with the lean client: httpx's own cost per request."
    )
    queue = {size: served for page, size, served, _, _ in rows if page == "queue"}
    if len(queue) > 1:
        small, large = queue[sizes[0]], queue[sizes[-1]]
        print(f"queue served p50 at {sizes[-1]:,} / at {sizes[0]:,}: {large.p50 / small.p50:.2f}")
    print("query plan of the queue's page after each sync (no manual ANALYZE):")
    for plan in plans:
        print(f"  {plan}")
    print(f"one uvicorn process RSS after the latency runs at {sizes[-1]:,}: {one_process:.0f} MB")

    print("\n".join(load_lines))


def load_table(
    args: argparse.Namespace,
    env: dict[str, str],
    cookies: httpx.Cookies,
    size: int,
    clients: list[int],
    worker_counts: list[int],
    pools: list[int],
) -> list[str]:
    """Throughput and memory by process model and pool size, as lines to print."""
    out = [f"\nThroughput of the queue page at {size:,} pending, {args.seconds:.0f} s each"]
    out.append(
        f"{'process model':<38}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'PG conns':>9}{'errors':>7}{'server':>8}{'rest':>6}{'busy':>6}"
    )
    # (name, workers, uvloop/httptools, pool size, a listening socket per worker)
    models: list[tuple[str, int, bool, int | None, bool]] = [
        ("1 process, asyncio/h11", 1, False, None, False),
        ("1 process, uvloop/httptools", 1, True, None, False),
    ]
    for count in worker_counts:
        models.append((f"uvicorn --workers {count}", count, True, None, False))
        models.append((f"approvals_site.serve --workers {count}", count, True, None, True))
    best_workers = max(worker_counts) if worker_counts else 1
    for size_of_pool in pools:
        name = f"serve --workers {best_workers}, pool {size_of_pool}"
        models.append((name, best_workers, True, size_of_pool, True))
    memory_lines = []
    ceilings: list[str] = []
    cores = os.cpu_count() or 1
    base_rps: dict[int, float] = {}
    for name, workers, fast, pool, own_sockets in models:
        results, (master, workers_rss) = throughput(
            env,
            cookies,
            workers=workers,
            fast=fast,
            clients=clients,
            seconds=args.seconds,
            pool=pool,
            own_sockets=own_sockets,
        )
        for result in results:
            if workers == 1 and fast:
                base_rps[result["clients"]] = result["rps"]
            ratio = ""
            if workers > 1 and result["clients"] in base_rps:
                ratio = f"  {result['rps'] / base_rps[result['clients']]:.2f}x one process"
            out.append(
                f"{name:<38}{result['clients']:>8}{result['rps']:>9.1f}{result['p50']:>9.1f}"
                f"{result['p99']:>9.1f}{result['connections']:>9}{result['errors']:>7}"
                f"{result['server_ms']:>8.2f}{result['rest_ms']:>6.2f}"
                f"{result['cores_busy']:>6.2f}{ratio}"
            )
            if workers > 1 and fast and result["clients"] in base_rps:
                # Every core busy at this model's CPU per request: the most it could do here.
                most = cores * 1000 / (result["server_ms"] + result["rest_ms"])
                ceilings.append(
                    f"  {name}, {result['clients']} clients: at most {most:.0f} req/s"
                    f" = {most / base_rps[result['clients']]:.2f}x one process"
                )
        detail = f"master {master:.0f} MB" + (
            f" + workers {', '.join(f'{w:.0f}' for w in workers_rss)} MB" if workers_rss else ""
        )
        memory_lines.append(f"  {name}: {detail}")
    out.append(
        "server/rest: CPU ms per request in the web processes / everywhere else on the machine"
        " (PostgreSQL, the kernel, this load generator); busy: cores in use, of"
        f" {cores}. The ceiling with all {cores} cores busy at each model's cost per request:"
    )
    out += ceilings
    out.append(f"\nWeb-process memory (RSS) after the load at {size:,} pending:")
    return out + memory_lines


if __name__ == "__main__":
    main()
