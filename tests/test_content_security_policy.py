from __future__ import annotations

from django.test import Client


def test_app_pages_forbid_inline_script_and_style(client: Client, reviewer: object) -> None:
    client.force_login(reviewer)  # type: ignore[arg-type]
    policy = client.get("/")["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "style-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_the_login_page_carries_the_policy_too(client: Client, db: None) -> None:
    assert "script-src 'self'" in client.get("/accounts/login/")["Content-Security-Policy"]


def test_admin_pages_allow_inline_styles_but_never_inline_script(
    client: Client, admin_user: object
) -> None:
    client.force_login(admin_user)  # type: ignore[arg-type]
    policy = client.get("/admin/")["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "script-src 'self';" in policy
