"""Benchmark: the sync worker's upstream calls a minute in steady state, as the queue grows,
side by side with the worker before the budget (every pass a full reconcile, which is what
``sync_approvals --no-realtime`` still does) in one run (README, "The sync worker").

For each queue length and each mode: a standalone sandbox (``manage.py trigger_sandbox
--scenario empty``) filled with that many runs needing approval, a SQLite database of its own
brought up to date with ``sync_approvals --once``, then ``sync_approvals`` as its own process.
After ``--warmup`` seconds (the first load of a long queue reads a payload per run, within the
rate budget, and is not steady state), the sandbox's own request counters are read over
``--window`` seconds. ``--rate-limit N`` makes the sandbox enforce N requests a minute (as
Trigger.dev cloud enforces 1,500); the 429 answers the worker met are counted from its log.
Figures are printed, not asserted: this is not a test.

Run: .venv/bin/python bench/upstream_budget.py [--sizes 100,2000] [--warmup 100] [--window 60]
     [--rate-limit 300] [--modes budget,every-pass-full]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
MODES = {
    "budget": [],  # the worker as built: realtime feed, passes for new tokens, paced reconcile
    "every-pass-full": ["--no-realtime"],  # as before the budget: a full listing every pass
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "tr_dev_" + "".join(secrets.choice(alphabet) for _ in range(24))


def _wait_http(url: str, headers: dict[str, str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, headers=headers, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def _api_calls(sandbox: str) -> int:
    """Every API and realtime call the sandbox answered so far (its own counters)."""
    requests = httpx.get(f"{sandbox}/_sandbox/stats", timeout=10).json()["requests"]
    return sum(int(n) for path, n in requests.items() if "/api/" in path or "/realtime/" in path)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measure(size: int, mode: str, args: argparse.Namespace, scratch: Path) -> tuple[float, int]:
    """Steady-state calls a minute, and 429s met, for one queue length and mode."""
    key, port = _key(), _free_port()
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TRIGGER_", "SYNC_", "DJANGO_"))
    }
    sandbox_env = {**base_env, "DJANGO_SECRET_KEY": "bench-sandbox", "TRIGGER_SECRET_KEY": key}
    sandbox = subprocess.Popen(
        [PY, "manage.py", "trigger_sandbox", "--port", str(port), "--scenario", "empty"],
        cwd=ROOT,
        env=sandbox_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    worker: subprocess.Popen[bytes] | None = None
    log = scratch / f"worker-{mode}-{size}.log"
    try:
        _wait_http(f"{url}/api/v1/runs", {"Authorization": f"Bearer {key}"})
        with httpx.Client(base_url=url, timeout=30) as control:
            if args.rate_limit:
                control.post("/_sandbox/faults", json={"rateLimit": args.rate_limit})
            for n in range(size):
                control.post(
                    "/_sandbox/runs",
                    json={
                        "task": "deploy-service",
                        "payload": {"n": n},
                        "description": f"bench approval {n}",
                        "timeout": "2d",
                        "requestedBy": "requester@example.com",
                    },
                ).raise_for_status()
        env = {
            **base_env,
            "DJANGO_SECRET_KEY": "bench-" + secrets.token_hex(16),
            "DATABASE_URL": f"sqlite:///{scratch / f'db-{mode}-{size}.sqlite3'}",
            "TRIGGER_API_URL": url,
            "TRIGGER_SECRET_KEY": key,
        }
        subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [PY, "manage.py", "sync_approvals", "--once"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [PY, "manage.py", "sync_approvals", *MODES[mode]],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            time.sleep(args.warmup)  # a benchmark's settling time, not a test's wait
            before, started = _api_calls(url), time.monotonic()
            time.sleep(args.window)
            per_minute = (_api_calls(url) - before) * 60 / (time.monotonic() - started)
            _stop(worker)
            worker = None
        limited = len(re.findall(r"HTTP 429", log.read_text(errors="replace")))
        return per_minute, limited
    finally:
        if worker is not None:
            _stop(worker)
        _stop(sandbox)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,2000")
    parser.add_argument("--modes", default="budget,every-pass-full")
    parser.add_argument("--warmup", type=float, default=100.0)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--rate-limit", type=int, default=0)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    limit = f", sandbox limit {args.rate_limit}/min" if args.rate_limit else ""
    print(
        f"steady-state upstream calls/min (warm-up {args.warmup:.0f} s,"
        f" window {args.window:.0f} s{limit})"
    )
    print(f"{'mode':<18}" + "".join(f"{s:>10,} pending" for s in sizes) + "   429s")
    with tempfile.TemporaryDirectory(prefix="bench-budget-") as tmp:
        for mode in modes:
            row, limited = [], 0
            for size in sizes:
                per_minute, met = measure(size, mode, args, Path(tmp))
                row.append(per_minute)
                limited += met
            cells = "".join(f"{value:>18.0f}" for value in row)
            print(f"{mode:<18}{cells}   {limited}", flush=True)


if __name__ == "__main__":
    main()
