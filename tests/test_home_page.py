"""The page at / lists the embedded sandbox's pending approvals, for signed-in users only."""

from __future__ import annotations

import httpx
from django.contrib.auth.models import User
from django.test import Client

from approvals.sandbox import SandboxTransport
from approvals.upstream import SANDBOX_BASE_URL, embedded_sandbox


def _start_run(**fields: object) -> dict[str, str]:
    with httpx.Client(
        transport=SandboxTransport(embedded_sandbox()), base_url=SANDBOX_BASE_URL
    ) as http:
        response = http.post(
            "/_sandbox/runs", json={"task": "publish-article", "timeout": "2h", **fields}
        )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def test_anonymous_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_home_page_lists_pending_approvals_from_the_sandbox(
    client: Client, reviewer: User
) -> None:
    ids = _start_run(description="Publish the quarterly report", requestedBy="ed@example.com")
    client.force_login(reviewer)
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Publish the quarterly report" in body
    assert ids["runId"] in body
    assert "ed@example.com" in body


def test_upstream_text_is_escaped(client: Client, reviewer: User) -> None:
    _start_run(description="<script>alert('x')</script>", requestedBy="<b>mallory</b>")
    client.force_login(reviewer)
    body = client.get("/").content.decode()
    assert "<script>alert(" not in body
    assert "&lt;script&gt;alert(" in body
    assert "<b>mallory</b>" not in body


def test_the_login_page_offers_the_demo_reviewer_in_sandbox_mode(client: Client, db: None) -> None:
    body = client.get("/accounts/login/").content.decode()
    assert "demo-reviewer" in body
