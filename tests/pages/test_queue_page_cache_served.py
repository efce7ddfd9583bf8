"""Kept queue pages through the real server: a change made by another process (here, the
test's own, as the sync worker or another web worker would) is seen on the next request,
through the shared change counter (approvals.changes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.db import connection, transaction

from approvals.decisions import decide
from approvals.events import Kind, approval_changed
from approvals.models import Approval, Verdict
from approvals.presentation.queue_cache import KEPT, RENDERED
from tests.factories import make_approval
from tests.served import database_url_of, served_dashboard

pytestmark = pytest.mark.django_db(transaction=True)
EVERY = "/?show=all"


@pytest.fixture
def app(transactional_db: None) -> Iterator[str]:
    url = database_url_of(connection.settings_dict)
    env = {"DATABASE_URL": url, "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_DEBUG": "false"}
    env |= {"DJANGO_SECURE_COOKIES": "false", "DJANGO_SECURE_SSL_REDIRECT": "false"}
    with served_dashboard(env) as base:
        yield base


@pytest.fixture
def browser(app: str, reviewer: Any) -> Iterator[httpx.Client]:
    # The served app checks passwords with Django's default hasher (the tests' is MD5).
    hasher = PBKDF2PasswordHasher()
    reviewer.password = hasher.encode("served-pass-123", hasher.salt())
    reviewer.save()
    with httpx.Client(base_url=app, timeout=30) as client:
        page = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token
        answer = client.post(
            "/accounts/login/",
            data={
                "username": reviewer.username,
                "password": "served-pass-123",
                "csrfmiddlewaretoken": token.group(1),
            },
            headers={"Referer": f"{app}/accounts/login/"},
        )
        assert answer.status_code == 302, answer.status_code
        yield client


def _page(client: httpx.Client) -> tuple[str, str]:
    response = client.get(EVERY)
    assert response.status_code == 200
    return response.text, response.headers["Server-Timing"]


def test_a_decision_made_elsewhere_is_seen_on_the_next_request(
    browser: httpx.Client, second_reviewer: User
) -> None:
    approval = make_approval(description="Decided elsewhere")
    body, how = _page(browser)
    assert "Decided elsewhere" in body and how == RENDERED
    body, how = _page(browser)
    assert "Decided elsewhere" in body and how == KEPT
    decide(token_id=approval.token_id, actor=second_reviewer, verdict=Verdict.APPROVE)
    body, how = _page(browser)
    assert "Decided elsewhere" not in body and how == RENDERED


def test_a_sync_change_made_elsewhere_is_seen_on_the_next_request(
    browser: httpx.Client,
) -> None:
    approval = make_approval(description="Old words")
    _page(browser)
    assert _page(browser)[1] == KEPT
    with transaction.atomic():  # as the sync worker writes: an update, and its event
        Approval.objects.filter(pk=approval.pk).update(description="New words")
        approval_changed(Kind.CHANGED, approval_id=approval.pk, token_id=approval.token_id)
    body, how = _page(browser)
    assert "New words" in body and how == RENDERED
