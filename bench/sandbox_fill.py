"""How the Trigger.dev sandbox scales: the time to fill it with runs, and list pages at 100 vs
10,000 runs.

Starts a standalone sandbox (``python -m approvals.sandbox --scenario empty``) from ``--code``
(this checkout by default; point it at an extracted older copy to compare), fills it through the
HTTP control endpoint ``POST /_sandbox/runs`` with the same requests as the checks' ``fill.py``,
and times the dashboard's two list queries with a keep-alive client:

- runs: ``GET /api/v1/runs?filter[status]=WAITING&filter[tag]=needs-approval&page[size]=100``
- tokens: ``GET /api/v1/waitpoints/tokens?filter[status]=WAITING&filter[tags]=needs-approval``

each as the first page and as a deep page (100 items from halfway down the list, reached by
following ``pagination.next``).

    .venv/bin/python bench/sandbox_fill.py                       # this checkout
    .venv/bin/python bench/sandbox_fill.py --code /tmp/old       # an older approvals/ tree
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
TASKS = ["deploy-service", "refund-customer", "publish-post"]
RUNS_PATH = "/api/v1/runs"
RUNS_QUERY = {"filter[status]": "WAITING", "filter[tag]": "needs-approval"}
TOKENS_PATH = "/api/v1/waitpoints/tokens"
TOKENS_QUERY = {"filter[status]": "WAITING", "filter[tags]": "needs-approval"}
PAGE_SIZE = 100


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(code: Path, port: int, key: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(code), "TRIGGER_SECRET_KEY": key}
    command = [sys.executable, "-m", "approvals.sandbox", "--port", str(port)]
    command += ["--scenario", "empty", "--seed", "7"]
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=code, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the sandbox exited early:\n{log.read_text()[-2000:]}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/_sandbox/clock", timeout=1).raise_for_status()
            return server
        except httpx.TransportError:
            time.sleep(0.05)
    server.terminate()
    raise RuntimeError("the sandbox did not start listening")


def _fill(client: httpx.Client, start: int, stop: int) -> float:
    began = time.perf_counter()
    for i in range(start, stop):
        body = {
            "task": TASKS[i % 3],
            "payload": {"i": i, "service": "billing"},
            "description": f"bulk approval {i}",
            "timeout": "2d",
            "requestedBy": "requester@example.com",
        }
        client.post("/_sandbox/runs", json=body).raise_for_status()
    return time.perf_counter() - began


def _get(client: httpx.Client, path: str, params: dict[str, str]) -> dict[str, Any]:
    response = client.get(path, params=params)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def _deep_cursor(client: httpx.Client, path: str, query: dict[str, str], depth: int) -> str:
    """The cursor of the ``depth``-th item: pages of 100 followed by next, then one short page."""
    cursor: str | None = None
    walked = 0
    while walked < depth:
        step = min(PAGE_SIZE, depth - walked)
        params = {**query, "page[size]": str(step)}
        if cursor is not None:
            params["page[after]"] = cursor
        answer = _get(client, path, params)
        cursor = answer["pagination"]["next"]
        walked += step
    assert cursor is not None
    return cursor


def _p50_ms(client: httpx.Client, path: str, params: dict[str, str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        answer = _get(client, path, params)
        samples.append(time.perf_counter() - began)
    assert answer["data"], "the page came back empty"
    return statistics.median(samples) * 1000


def _pages(client: httpx.Client, runs: int, repeat: int) -> dict[str, float]:
    results = {}
    for name, path, query in (
        ("runs", RUNS_PATH, RUNS_QUERY),
        ("tokens", TOKENS_PATH, TOKENS_QUERY),
    ):
        first = {**query, "page[size]": str(PAGE_SIZE)}
        deep = {**first, "page[after]": _deep_cursor(client, path, query, runs // 2)}
        results[f"{name} first page"] = _p50_ms(client, path, first, repeat)
        results[f"{name} deep page"] = _p50_ms(client, path, deep, repeat)
    return results


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--code", type=Path, default=ROOT, help="the tree holding approvals/")
    options.add_argument("--runs", type=int, default=10_000)
    options.add_argument("--small", type=int, default=100)
    options.add_argument("--repeat", type=int, default=30, help="requests per page timing")
    args = options.parse_args()

    key = "tr_dev_" + "".join(
        secrets.choice(string.ascii_letters + string.digits) for _ in range(24)
    )
    port = _free_port()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"sandbox-bench-{port}.log"
    server = _start(args.code.resolve(), port, key, log)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=300,
        ) as client:
            fill_small = _fill(client, 0, args.small)
            small = _pages(client, args.small, args.repeat)
            fill_rest = _fill(client, args.small, args.runs)
            large = _pages(client, args.runs, args.repeat)
    finally:
        server.terminate()
        server.wait(10)

    print(f"code: {args.code}")
    print(f"fill {args.runs} runs via POST /_sandbox/runs: {fill_small + fill_rest:.1f} s")
    print(f"list page p50 (ms)      {args.small:>8} runs {args.runs:>8} runs")
    for name, value in small.items():
        print(f"  {name:<20} {value:>14.2f} {large[name]:>14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
