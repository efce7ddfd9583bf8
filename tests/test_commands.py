from __future__ import annotations

import os
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory, override_settings

from approvals.sandbox import DEFAULT_SECRET_KEY
from tests.served import sandbox_command

ROOT = Path(__file__).resolve().parent.parent


def _sign_in_request() -> Any:
    """Signing in always comes with a request (django-axes throttles by its address)."""
    return RequestFactory().post("/accounts/login/")


def test_prepare_demo_creates_a_demo_reviewer_in_sandbox_mode(db: None) -> None:
    out = StringIO()
    call_command("prepare_demo", stdout=out)
    assert "demo" in out.getvalue()
    assert authenticate(_sign_in_request(), username="demo", password="demo-reviewer") is not None


def test_prepare_demo_disables_the_demo_reviewer_with_a_real_trigger(db: None) -> None:
    call_command("prepare_demo", stdout=StringIO())
    with override_settings(TRIGGER_USES_SANDBOX=False):
        call_command("prepare_demo", stdout=StringIO())
    assert authenticate(_sign_in_request(), username="demo", password="demo-reviewer") is None


def test_trigger_sandbox_command_serves_the_api_on_loopback() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRIGGER_SECRET_KEY"}
    auth = {"Authorization": f"Bearer {DEFAULT_SECRET_KEY}"}

    with sandbox_command(
        "--scenario", "demo", "--seed", "5", env=env, key=DEFAULT_SECRET_KEY
    ) as url:
        response = httpx.get(f"{url}/api/v1/runs", headers=auth, timeout=2)
        unauthorised = httpx.get(f"{url}/api/v1/runs", timeout=2)

    assert response.status_code == 200
    assert len(response.json()["data"]) >= 5  # the demo scenario's pending runs
    assert unauthorised.status_code == 401


def test_the_demo_reviewer_may_decide(db: None) -> None:
    call_command("prepare_demo", stdout=StringIO())
    demo = authenticate(_sign_in_request(), username="demo", password="demo-reviewer")
    assert demo is not None and demo.has_perm("approvals.decide_approval")


def test_the_demo_reviewer_cannot_sign_in_with_a_real_trigger_even_if_still_active(
    db: None,
) -> None:
    call_command("prepare_demo", stdout=StringIO())
    with override_settings(TRIGGER_USES_SANDBOX=False):
        assert authenticate(_sign_in_request(), username="demo", password="demo-reviewer") is None
