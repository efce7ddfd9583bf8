"""The README's standalone sandbox command works with a key of one's own, without the
dashboard's production secret (before, it stopped asking for DJANGO_SECRET_KEY)."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from tests.served import ROOT, sandbox_command

pytestmark = pytest.mark.slow


def test_trigger_sandbox_serves_with_only_trigger_secret_key() -> None:
    key = "tr_dev_ownKeyForTheStandaloneSandbox1"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["TRIGGER_SECRET_KEY"] = key

    with sandbox_command("--scenario", "empty", env=env, key=key) as url:
        answer = httpx.get(f"{url}/api/v1/runs", headers={"Authorization": f"Bearer {key}"})

    assert answer.status_code == 200


def test_the_missing_secret_message_names_what_is_configured() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TRIGGER_"))}
    env["TRIGGER_SECRET_KEY"] = "tr_prod_somethingsomethingsome"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert result.returncode != 0
    assert "TRIGGER_API_URL or TRIGGER_SECRET_KEY is set" in result.stderr
