"""The JSON API's list and the queue page read pending approvals through one query: the same
rows, in the same order, with the same meaning of "expired", on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import make_approval

pytestmark = pytest.mark.django_db


def test_the_api_and_the_queue_list_the_same_rows(api: Any, reviewer: Any) -> None:
    now = timezone.now()
    tagged_soon = make_approval(
        run_tags=["needs-approval", "eu"], expires_at=now + timedelta(minutes=5)
    )
    make_approval(run_tags=["needs-approval"], expires_at=now + timedelta(hours=2))
    tagged_late = make_approval(run_tags=["eu"], expires_at=now + timedelta(hours=3))
    make_approval(run_tags=["eu"], expires_at=now - timedelta(minutes=1))  # expired: neither
    browser = Client()
    browser.force_login(reviewer)

    listed = [a["tokenId"] for a in api.get("/api/approvals?tag=eu").json()["approvals"]]
    page = browser.get("/?tag=eu").content.decode()
    shown = re.findall(r'href="/approvals/([^/"]+)/"', page)

    assert listed == [tagged_soon.token_id, tagged_late.token_id]
    assert list(dict.fromkeys(shown)) == listed
