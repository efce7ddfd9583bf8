"""Benchmark: the queue page from the read model versus the seed's way of building it.

Prints, in one run, against the sandbox on loopback with N pending approvals and an upstream
latency of 50 ms:

  (a) the dashboard's queue page latency, p50 and p99 (Django's full request path, signed in);
  (b) the same list computed the seed's way, per request: list the runs, then fetch each run's
      tokens one after another (here with the cheapest real call, a token list per run; the
      seed's SSE stream read is slower still, since the server holds each stream open);
  (c) upstream calls per page view for both;
  (d) the dashboard's page latency at 100 and at 10,000 pending approvals.

Run: .venv/bin/python bench/queue_latency.py [--pending 1000] [--samples 200] [--seed-samples 2]
It uses its own PostgreSQL database (approvals_bench on 127.0.0.1:5432, recreated each run) unless
BENCH_DATABASE_URL says otherwise. It is a measurement, not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/approvals_bench"
)


def _recreate_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pending", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed-samples", type=int, default=2)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=10_000)
    args = parser.parse_args()

    _recreate_database(BENCH_DB)
    (ROOT / "var" / "staticfiles").mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = BENCH_DB
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "approvals_site.settings")
    os.environ["SYNC_IN_WEB_PROCESS"] = "false"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group, Permission, User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from approvals.models import Approval, ApprovalState
    from approvals.sync import sync_once
    from approvals.trigger import TriggerClient
    from tests.sandbox_server import RunningSandbox, serve_sandbox

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench", "bench@example.com", "bench-password-1")
    group = Group.objects.create(name="bench reviewers")
    group.permissions.add(Permission.objects.get(codename="decide_approval"))
    user.groups.add(group)
    browser = Client()
    browser.force_login(user)

    servers = ExitStack()  # closed at the end: the sandbox's server stops
    sandbox: RunningSandbox = servers.enter_context(
        contextmanager(serve_sandbox)(scenario="empty", seed=1)
    )
    settings.TRIGGER_USES_SANDBOX = False
    settings.TRIGGER_API_URL = sandbox.url
    settings.TRIGGER_SECRET_KEY = sandbox.secret_key

    def fill(count: int) -> None:
        """Start runs until the sandbox has ``count`` pending approvals, then sync them in."""
        sandbox.faults(latencyMs=0)
        have = Approval.objects.filter(state=ApprovalState.PENDING).count()
        for i in range(have, count):
            sandbox.start_run(
                task=("deploy-production", "approve-invoice", "refund-customer")[i % 3],
                description=f"Benchmark approval {i}",
                payload={"n": i, "note": "x" * 40},
                timeout=f"{1 + i % 72}h",
            )
        started = time.perf_counter()
        report = sync_once()
        if connection.vendor == "postgresql":
            # What autovacuum does in a steady deployment: fresh statistics and a visibility
            # map, so the planner uses the (state, expires_at) index and count() scans it only.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE approvals_approval")
        pending = Approval.objects.filter(state=ApprovalState.PENDING).count()
        took = time.perf_counter() - started
        print(f"  synced {pending} pending approvals in {took:.1f} s ({report})")

    def dashboard(samples: int) -> tuple[float, float, float]:
        sandbox.faults(latencyMs=args.latency_ms)
        browser.get("/")  # warm templates and connections
        before = sandbox.stats()["total"]
        timings = []
        for _ in range(samples):
            started = time.perf_counter()
            response = browser.get("/")
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
        calls = (sandbox.stats()["total"] - before) / samples
        return _percentile(timings, 0.5), _percentile(timings, 0.99), calls

    def seed_way(samples: int) -> tuple[float, float, float, int]:
        sandbox.faults(latencyMs=args.latency_ms)
        timings = []
        before = sandbox.stats()["total"]
        found = 0
        with TriggerClient(
            secret_key=sandbox.secret_key, base_url=sandbox.url, timeout=30
        ) as client:
            for _ in range(samples):
                started = time.perf_counter()
                approvals: list[dict[str, Any]] = []
                runs = client.runs.list(
                    status=settings.APPROVAL_AWAITING_STATUSES,
                    tags=[str(settings.APPROVAL_TAG)],
                    page_size=100,
                )
                for run in runs:
                    for token in client.waitpoints.list(status=["WAITING"], tags=[f"run:{run.id}"]):
                        approvals.append({"runId": run.id, "tokenId": token.id})
                timings.append((time.perf_counter() - started) * 1000)
                found = len(approvals)
        calls = (sandbox.stats()["total"] - before) / samples
        return _percentile(timings, 0.5), _percentile(timings, 0.99), calls, found

    where = BENCH_DB.split("@")[-1]
    print(f"Queue page benchmark: sandbox on loopback, {args.latency_ms} ms latency, db {where}")
    print(f"\n[setup] {args.pending} pending approvals")
    fill(args.pending)
    a50, a99, a_calls = dashboard(args.samples)
    b50, b99, b_calls, found = seed_way(args.seed_samples)
    row = "{:<30} p50 {:9.2f} ms   p99 {:9.2f} ms   {}"
    print("\n" + row.format("(a) dashboard queue page", a50, a99, f"({args.samples} views)"))
    views = f"({args.seed_samples} views, {found} approvals found)"
    print(row.format("(b) seed's way, per request", b50, b99, views))
    print(f"    speed-up at p50: {b50 / a50:,.0f}x")
    print(f"(c) upstream calls per view   dashboard {a_calls:.1f}   seed's way {b_calls:.1f}")

    Approval.objects.all().delete()
    sandbox.control("POST", "reset")
    print(f"\n[setup] {args.small} pending approvals")
    fill(args.small)
    s50, s99, _ = dashboard(args.samples)
    print(f"\n[setup] {args.large} pending approvals")
    fill(args.large)
    l50, l99, _ = dashboard(args.samples)
    print("\n" + row.format(f"(d) dashboard at {args.small}", s50, s99, ""))
    print(row.format(f"    dashboard at {args.large}", l50, l99, f"ratio p50 {l50 / s50:.2f}"))
    servers.close()


if __name__ == "__main__":
    main()
