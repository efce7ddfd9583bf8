"""Two web processes and a sync worker, as separate OS processes over real Redis: a decision
made through web process A, and a new run seen upstream by the worker, reach a browser's
sockets on web process B."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from django.conf import settings
from django.db import connection
from django.test import Client
from websockets.typing import Origin

from approvals.models import ApiToken
from tests.served import ROOT, database_url_of, served_dashboard, stop
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

REDIS_URL = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"
WAIT = 10.0


def _env(live_sandbox: Any) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url_of(connection.settings_dict),
        "REDIS_URL": REDIS_URL,
        "TRIGGER_API_URL": live_sandbox.url,
        "TRIGGER_SECRET_KEY": live_sandbox.secret_key,
        "SYNC_INTERVAL_SECONDS": "0.3",
        "SYNC_IN_WEB_PROCESS": "false",
        # Production settings (a real Trigger.dev) on plain HTTP: no TLS proxy in front.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        # This process's key: the session made here (force_login) is valid there too.
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
    }


@contextmanager
def _worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[str]]:
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "sync_approvals", "--interval", "0.3"],
            cwd=ROOT, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        stop(process)


@contextmanager
def _shown_if_failing(log: Path) -> Iterator[None]:
    """On failure, the worker's log goes into the assertion message."""
    try:
        yield
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n--- worker log ---\n{log.read_text()[-3000:]}") from None


def _signed_in_cookie(user: Any) -> str:
    """A browser's cookies after signing in (the session is in the shared database)."""
    client = Client()
    client.force_login(user, backend="approvals.auth.passwords.PasswordBackend")
    return "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())


async def _receive_containing(socket: Any, *needles: str) -> str:
    async with asyncio.timeout(WAIT):
        while True:
            message = str(await socket.recv())
            if all(needle in message for needle in needles):
                return message


def test_changes_reach_a_browser_on_another_web_process(
    live_sandbox: Any, reviewer: Any, second_reviewer: Any, tmp_path: Path
) -> None:
    _, api_token = ApiToken.issue(user=second_reviewer, name="cross-process")
    existing = live_sandbox.start_run(description="Decided through A")
    env = _env(live_sandbox)
    with ExitStack() as stack:
        log = tmp_path / "worker.log"
        worker = stack.enter_context(_worker(env, log))
        web_a = stack.enter_context(served_dashboard(env))
        web_b = stack.enter_context(served_dashboard(env))
        stack.enter_context(_shown_if_failing(log))
        listing = f"{web_a}/api/approvals"
        bearer = {"Authorization": f"Bearer {api_token}"}
        # The worker has synced it.
        answers: list[str] = []

        def listed() -> bool:
            answers.append(httpx.get(listing, headers=bearer).text)
            return existing["tokenId"] in answers[-1]

        try:
            wait_until(listed, timeout=WAIT)
        except AssertionError:
            raise AssertionError(f"not listed by A: {answers[-1][:500]!r}") from None
        cookie = _signed_in_cookie(reviewer)
        ws_b = web_b.replace("http", "ws", 1)

        def socket(path: str) -> Any:
            return websockets.connect(
                f"{ws_b}{path}", origin=Origin(web_b), additional_headers={"Cookie": cookie}
            )

        async def scenario() -> tuple[str, str]:
            async with (
                socket("/ws/approvals/") as queue,
                socket(f"/ws/approvals/{existing['tokenId']}/") as detail,
            ):
                # Seen upstream by the worker process: a new run.
                made = await asyncio.to_thread(
                    live_sandbox.start_run, description="Seen by the worker"
                )
                appeared = await _receive_containing(queue, made["tokenId"], "Seen by the worker")
                # Decided through web process A.
                answer = await asyncio.to_thread(
                    httpx.post,
                    f"{web_a}/api/approvals/{existing['tokenId']}/approve",
                    json={"comments": "from process A"},
                    headers={"Authorization": f"Bearer {api_token}"},
                    timeout=WAIT,
                )
                assert answer.status_code == 200, answer.text
                decided = await _receive_containing(detail, "Approved", "from process A")
                return appeared, decided

        appeared, decided = asyncio.run(scenario())
        assert worker.poll() is None, "the worker died"

    assert "<!--live:insert-->" in appeared or 'id="queue-results"' in appeared
    assert "sam" in decided and 'id="decision-panel"' in decided
    assert "approve-form" not in decided  # Rita's view: decided, no forms left
