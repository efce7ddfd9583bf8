"""The real worker (``manage.py sync_approvals``) killed with SIGKILL in the middle of a send:
the restarted worker delivers the rest and sends the interrupted one again under the same
delivery id, so the receiver can drop the repeat (docs/notifications.md, "Delivery")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from approvals.notify.models import Channel, ChannelKind, DeliveryStatus, Event, Notification
from approvals.notify.occurrences import record
from tests.factories import make_approval
from tests.notify.parts import Receiver, Request
from tests.served import database_url_of
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def start_worker(sandbox: Any, log: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "approvals_site.settings",
        "DATABASE_URL": database_url_of(connection.settings_dict),
        "TRIGGER_API_URL": sandbox.url,
        "TRIGGER_SECRET_KEY": sandbox.secret_key,
        "DJANGO_SECRET_KEY": "test-worker-secret-key-0123456789-abcdefghijklmnop",
        "SYNC_IN_WEB_PROCESS": "false",
        "NOTIFY_POLL_SECONDS": "0.1",
        "NOTIFY_TIMEOUT_SECONDS": "60",
        "NOTIFY_REMINDER_MINUTES": "0",
    }
    with log.open("a") as sink:
        return subprocess.Popen(
            [sys.executable, "manage.py", "sync_approvals", "--no-realtime", "--interval", "60"],
            cwd=ROOT, env=env, stdout=sink, stderr=sink, text=True,
        )  # fmt: skip


def test_a_worker_killed_mid_send_leaves_nothing_unsent(live_sandbox: Any, tmp_path: Path) -> None:
    held = threading.Event()
    release = threading.Event()

    def answer(request: Request) -> int:
        if not held.is_set():  # the first request hangs until the worker is dead
            held.set()
            release.wait(60)
        return 204

    receiver = Receiver(answer=answer).start()
    try:
        Channel.objects.create(
            name="hook", kind=ChannelKind.WEBHOOK, target=receiver.url, secret="k"
        )
        for _ in range(3):
            record(make_approval().pk, Event.PENDING)
        log = tmp_path / "worker.log"
        worker = start_worker(live_sandbox, log)
        try:
            wait_until(lambda: held.is_set() or worker.poll() is not None, timeout=30)
            assert worker.poll() is None, log.read_text()
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
        assert worker.returncode == -signal.SIGKILL
        release.set()
        statuses = sorted(Notification.objects.values_list("status", flat=True))
        assert statuses == ["pending", "pending", "sending"]
        interrupted = Notification.objects.get(status=DeliveryStatus.SENDING)

        worker = start_worker(live_sandbox, log)
        try:
            wait_until(
                lambda: Notification.objects.filter(status=DeliveryStatus.SENT).count() == 3,
                timeout=30,
            )
        finally:
            worker.terminate()
            worker.wait(timeout=15)
        assert "took over 1 message(s)" in log.read_text()
        ids = [r.headers["x-approvals-delivery"] for r in receiver.requests]
        # Four requests for three messages: the interrupted one twice, identical both times.
        assert len(ids) == 4 and len(set(ids)) == 3
        assert ids.count(str(interrupted.delivery_id)) == 2
        twice = [r.body for r in receiver.requests if r.headers["x-approvals-delivery"] == ids[0]]
        assert twice[0] == twice[1]
    finally:
        release.set()
        receiver.stop()
