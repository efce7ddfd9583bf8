"""The admin's two-list widgets carry their own help, not "Hold down Control" (which is for a
plain multiple select, and wrong beside the arrows)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "own_help"),
    [
        ("admin:approvals_approvalpolicy_add", None),
        ("admin:approvals_channel_add", "Only approvals under these policies"),
    ],
)
def test_two_list_widgets_have_no_control_key_hint(
    client: Client, admin_user: object, url: str, own_help: str | None
) -> None:
    client.force_login(admin_user)  # type: ignore[arg-type]
    page = client.get(reverse(url))
    assert page.status_code == 200
    html = page.content.decode()
    assert "selectfilter" in html  # the two-list widget is there
    assert "Hold down" not in html
    if own_help:
        assert own_help in html
