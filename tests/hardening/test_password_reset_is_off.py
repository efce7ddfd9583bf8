"""Django's password-reset pages need email, which the dashboard does not send; open, they
failed silently and could be asked for without limit. They are not served."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.parametrize(
    "path",
    ["/accounts/password_reset/", "/accounts/reset/MQ/set-password/", "/accounts/reset/done/"],
)
def test_password_reset_pages_are_not_found(db: None, path: str) -> None:
    assert Client().get(path).status_code == 404


def test_the_admin_sign_in_offers_no_reset_link(db: None) -> None:
    page = Client().get("/admin/login/").content.decode()

    assert "Forgotten your password" not in page
