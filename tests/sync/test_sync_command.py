"""``manage.py sync_approvals``: one pass with --once, or the worker until SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from approvals.models import Approval, ApprovalState, Decision, DeliveryState, Verdict
from tests.factories import approval_for_sandbox_run
from tests.waiting import wait_until

pytestmark = pytest.mark.slow  # real servers and streams held open: seconds each

ROOT = Path(__file__).resolve().parents[2]


def test_once_runs_one_pass_and_prints_its_report(db: None, live_sandbox: Any):
    ids = live_sandbox.start_run()
    out = StringIO()

    call_command("sync_approvals", "--once", stdout=out)

    assert "created=1" in out.getvalue()
    assert Approval.objects.get(token_id=ids["tokenId"]).state == ApprovalState.PENDING


def test_once_fails_with_a_clear_report_when_upstream_is_down(db: None, live_sandbox: Any):
    live_sandbox.faults(errorRate=1.0)
    out = StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("sync_approvals", "--once", stdout=out)

    assert exited.value.code == 1
    assert "FAILED" in out.getvalue()


def test_a_pass_also_delivers_decisions_that_are_due(db: None, live_sandbox: Any, reviewer: Any):
    ids = live_sandbox.start_run()
    approval = approval_for_sandbox_run(ids, state=ApprovalState.DECIDED)
    envelope = {"approved": True, "decision": "approved", "approvedBy": "rita@example.com"}
    decision = Decision.objects.create(
        approval=approval, actor=reviewer, verdict=Verdict.APPROVE, envelope=envelope
    )
    out = StringIO()

    call_command("sync_approvals", "--once", stdout=out)

    assert "delivered=1" in out.getvalue()
    decision.refresh_from_db()
    assert decision.delivery_state == DeliveryState.DELIVERED
    token = live_sandbox.control("GET", f"runs/{ids['runId']}")
    assert token["waitingOnToken"] is None  # the run resumed with our output


# --- The worker as a real process -------------------------------------------------------------


@pytest.fixture
def worker_env(live_sandbox: Any) -> dict[str, str]:
    db = connection.settings_dict
    assert connection.vendor == "postgresql", "the worker process tests need PostgreSQL"
    host = db.get("HOST") or "127.0.0.1"
    database_url = f"postgres://{db['USER']}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        TRIGGER_API_URL=live_sandbox.url,
        TRIGGER_SECRET_KEY=django_settings.TRIGGER_SECRET_KEY,
        DJANGO_SECRET_KEY="worker-test-secret-key",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


class WorkerProcess:
    """``manage.py sync_approvals`` in a child process, its output collected line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "sync_approvals", "--interval", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def said(self, text: str) -> bool:
        return text in self.output

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=20)
        self._reader.join(timeout=5)
        return code


@pytest.fixture
def workers(worker_env: dict[str, str]) -> Iterator[Callable[[], WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        started.append(WorkerProcess(worker_env))
        return started[-1]

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
        worker.process.wait(timeout=10)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_worker_process_syncs_and_stops_cleanly_on_sigterm(
    live_sandbox: Any, workers: Callable[[], WorkerProcess]
):
    worker = workers()
    ids = live_sandbox.start_run(description="picked up by the worker process")

    wait_until(lambda: Approval.objects.filter(token_id=ids["tokenId"]).exists(), timeout=30)
    code = worker.stop(signal.SIGTERM)

    assert code == 0
    assert worker.said("sync: leader") and worker.said("sync: stopped")
    # The full reconcile at start passed (the run itself may have come first through the
    # realtime feed or the pass for new tokens, which then leave it nothing to create).
    assert worker.said("sync: full reconcile: created=")
    assert django_settings.TRIGGER_SECRET_KEY not in worker.output


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_stand_by_worker_takes_over_when_the_leader_is_killed(
    live_sandbox: Any, workers: Callable[[], WorkerProcess]
):
    leader = workers()
    first = live_sandbox.start_run(description="first")
    wait_until(lambda: Approval.objects.filter(token_id=first["tokenId"]).exists(), timeout=30)
    standby = workers()
    wait_until(lambda: standby.said("standing by"), timeout=30)

    leader.stop(signal.SIGKILL)
    second = live_sandbox.start_run(description="second")

    wait_until(lambda: Approval.objects.filter(token_id=second["tokenId"]).exists(), timeout=30)
    assert standby.said("sync: leader")
    assert standby.stop(signal.SIGTERM) == 0
