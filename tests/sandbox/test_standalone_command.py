"""The README's standalone sandbox command works with a key of one's own, without the
dashboard's production secret (before, it stopped asking for DJANGO_SECRET_KEY)."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from tests.served import ROOT, free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.slow


def test_trigger_sandbox_serves_with_only_trigger_secret_key() -> None:
    key = "tr_dev_ownKeyForTheStandaloneSandbox1"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["TRIGGER_SECRET_KEY"] = key
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "trigger_sandbox",
            "--port",
            str(port),
            "--scenario",
            "empty",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )

    def answer() -> int:
        if process.poll() is not None:
            raise AssertionError(process.stderr.read() if process.stderr else "exited")
        try:
            url = f"http://127.0.0.1:{port}/api/v1/runs"
            return httpx.get(url, headers={"Authorization": f"Bearer {key}"}).status_code
        except httpx.TransportError:
            return 0

    try:
        assert wait_until(answer, timeout=30) == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_missing_secret_message_names_what_is_configured() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TRIGGER_"))}
    env["TRIGGER_SECRET_KEY"] = "tr_prod_somethingsomethingsome"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert result.returncode != 0
    assert "TRIGGER_API_URL or TRIGGER_SECRET_KEY is set" in result.stderr
