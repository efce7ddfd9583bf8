from __future__ import annotations

import re

import pytest
from django.urls import reverse

from approvals.models import ApiToken, hash_api_token

pytestmark = pytest.mark.django_db


def test_creating_a_token_shows_it_once_and_stores_only_its_hash(client, admin_user, reviewer):
    client.force_login(admin_user)

    created = client.post(
        reverse("admin:approvals_apitoken_add"), {"user": reviewer.pk, "name": "deploy bot"}
    )

    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    raw = re.search(r'id="issued-api-token"[^>]*>(apr_[^<]+)<', created.content.decode()).group(1)
    token = ApiToken.objects.get()
    assert token.token_hash == hash_api_token(raw)
    assert token.user == reviewer
    assert client.get("/api/approvals", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200

    for url in (
        reverse("admin:approvals_apitoken_changelist"),
        reverse("admin:approvals_apitoken_change", args=[token.pk]),
    ):
        assert raw not in client.get(url).content.decode()
    assert raw not in str(client.cookies)
    assert raw not in str(dict(client.session))


def test_revoke_action_stops_the_token(client, admin_user, reviewer):
    token, raw = ApiToken.issue(user=reviewer)
    client.force_login(admin_user)

    client.post(
        reverse("admin:approvals_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/approvals", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
