"""Failed sign-ins are throttled per account and per address (django-axes), on the dashboard's
and the admin's sign-in pages, and so are failed API tokens. Before, 200 wrong passwords in
a row were all answered and the right one then worked at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone

from approvals.models import ApiToken

pytestmark = pytest.mark.django_db

PASSWORD = "pw-ada-1234"  # tests/conftest.py's personas: pw-<username>-1234


def _sign_in(client: Client, path: str, username: str, password: str, ip: str) -> Any:
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_the_right_password_is_refused_after_too_many_wrong_ones(
    admin_user: Any, path: str
) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, path, "ada", "wrong", "10.0.0.1").status_code == 200
    assert _sign_in(client, path, "ada", "wrong", "10.0.0.1").status_code == 429  # the last

    locked = _sign_in(client, path, "ada", PASSWORD, "10.0.0.1")

    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_one_account_is_locked_whatever_the_address(admin_user: Any) -> None:
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "/accounts/login/", "ada", "wrong", f"10.0.1.{n}")

    assert _sign_in(client, "/accounts/login/", "ada", PASSWORD, "10.0.2.1").status_code == 429


def test_one_address_is_locked_whatever_the_account(admin_user: Any, reviewer: Any) -> None:
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "/accounts/login/", f"guess{n}", "wrong", "10.0.3.1")

    answer = _sign_in(client, "/accounts/login/", "ada", PASSWORD, "10.0.3.1")
    assert answer.status_code == 429
    elsewhere = _sign_in(Client(), "/accounts/login/", "ada", PASSWORD, "10.0.3.2")
    assert elsewhere.status_code == 302  # signed in from another address


def test_the_lock_lifts_after_the_cool_off(admin_user: Any) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "/accounts/login/", "ada", "wrong", "10.0.4.1")
    assert _sign_in(client, "/accounts/login/", "ada", PASSWORD, "10.0.4.1").status_code == 429

    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )

    assert _sign_in(client, "/accounts/login/", "ada", PASSWORD, "10.0.4.1").status_code == 302


def test_failed_api_tokens_lock_out_their_address(reviewer: Any) -> None:
    _token, raw = ApiToken.issue(user=reviewer)
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        bad = client.get(
            "/api/approvals",
            headers={"Authorization": f"Bearer apr_guess{n}"},
            REMOTE_ADDR="10.0.5.1",
        )
        # 401 each time, until the last failure allowed locks the address.
        last = n == settings.AXES_FAILURE_LIMIT - 1
        assert bad.status_code == (429 if last else 401)
        assert bad["Content-Type"] == "application/json"

    locked = client.get(
        "/api/approvals", headers={"Authorization": f"Bearer {raw}"}, REMOTE_ADDR="10.0.5.1"
    )
    assert locked.status_code == 429
    assert locked.json()["code"] == "throttled"
    other = client.get(
        "/api/approvals", headers={"Authorization": f"Bearer {raw}"}, REMOTE_ADDR="10.0.5.2"
    )
    assert other.status_code == 200
