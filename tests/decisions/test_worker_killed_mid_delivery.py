"""The real worker (``manage.py sync_approvals``) killed with SIGKILL while delivering: the row
lock dies with its connection, the decision stays pending, and the restarted worker delivers
the same verdict, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from approvals.decisions import decide, deliver_due
from approvals.models import Decision, DeliveryState
from tests.decisions.helpers import completions, finished_run
from tests.factories import approval_for_sandbox_run
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _worker_env(sandbox) -> dict[str, str]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "approvals_site.settings",
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "TRIGGER_API_URL": sandbox.url,
        "TRIGGER_SECRET_KEY": sandbox.secret_key,
        "APPROVAL_DELIVERY_TIMEOUT_SECONDS": "30",
        "DJANGO_SECRET_KEY": "test-worker-secret-key-0123456789-abcdefghijklmnop",
        "SYNC_IN_WEB_PROCESS": "false",
    }
    return env


def start_worker(sandbox) -> subprocess.Popen[str]:
    """The long-running worker: reconcile, then deliver what is due."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "sync_approvals", "--no-realtime", "--interval", "60"],
        cwd=ROOT,
        env=_worker_env(sandbox),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_worker_killed_mid_delivery_is_delivered_by_the_next_pass(live_sandbox, reviewer):
    assert connection.vendor == "postgresql"
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)
    decide(
        token_id=ids["tokenId"], actor=reviewer, verdict="reject", comment="no", deliver_now=False
    )
    envelope = Decision.objects.get().envelope
    # Slow enough that the kill lands while the complete request waits upstream.
    live_sandbox.faults(latencyMs=1500)

    worker = start_worker(live_sandbox)
    try:
        # Mid-delivery: its complete request has reached Trigger.dev and waits there.
        wait_until(lambda: completions(live_sandbox) >= 1 or worker.poll() is not None, timeout=30)
        assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
        # Meanwhile another worker skips the decision that one holds locked.
        assert deliver_due() == 0
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL

    decision = Decision.objects.get()
    assert decision.delivery_state == DeliveryState.PENDING
    assert decision.attempts == 0  # the killed attempt's bookkeeping was rolled back
    live_sandbox.faults(latencyMs=0)
    # The worker restarted: one pass (reconcile + deliveries) and out.
    restarted = subprocess.run(
        [sys.executable, "manage.py", "sync_approvals", "--once", "--no-realtime"],
        cwd=ROOT,
        env=_worker_env(live_sandbox),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr

    decision.refresh_from_db()
    assert decision.delivery_state == DeliveryState.DELIVERED
    assert decision.envelope == envelope
    run = finished_run(live_sandbox, ids["runId"])
    assert run["output"] == {"status": "rejected", "decision": envelope}
