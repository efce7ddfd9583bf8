from __future__ import annotations

import json

import pytest
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils import timezone

from approvals.models import ApiToken
from tests.factories import make_approval

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("apr_not-a-real-token"), {"HTTP_AUTHORIZATION": "Basic cml0YTpwdw=="}],
    ids=["no credentials", "unknown token", "wrong scheme"],
)
def test_anonymous_or_bad_token_gets_401_json_and_no_redirect(client, headers):
    response = client.get("/api/approvals", **headers)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["success"] is False


def test_revoked_token_is_refused(client, reviewer):
    token, raw = ApiToken.issue(user=reviewer)
    token.revoked_at = timezone.now()
    token.save()

    response = client.get("/api/approvals", **bearer(raw))

    assert response.status_code == 401
    assert response.json()["message"] == "This API token has been revoked."


def test_token_of_an_inactive_user_is_refused(client, reviewer):
    _, raw = ApiToken.issue(user=reviewer)
    reviewer.is_active = False
    reviewer.save()

    assert client.get("/api/approvals", **bearer(raw)).status_code == 401


def test_token_is_stored_hashed_and_its_use_is_recorded(client, reviewer):
    token, raw = ApiToken.issue(user=reviewer)

    assert client.get("/api/approvals", **bearer(raw)).status_code == 200

    token.refresh_from_db()
    assert raw not in (token.token_hash, token.hint)
    assert token.last_used_at is not None


def test_bearer_requests_need_no_csrf_token(reviewer):
    approval = make_approval()
    _, raw = ApiToken.issue(user=reviewer)
    strict = Client(enforce_csrf_checks=True)

    response = strict.post(
        f"/api/approvals/{approval.token_id}/reject",
        data=json.dumps({"reason": ""}),
        content_type="application/json",
        **bearer(raw),
    )

    assert response.status_code == 400  # reached validation: no CSRF refusal


def test_session_posts_need_the_csrf_token(reviewer):
    approval = make_approval()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(reviewer)

    refused = strict.post(
        f"/api/approvals/{approval.token_id}/reject",
        data=json.dumps({"reason": ""}),
        content_type="application/json",
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf"

    # What a browser sends: the csrftoken cookie, and the same value in the header.
    token = _get_new_csrf_string()
    strict.cookies["csrftoken"] = token
    accepted = strict.post(
        f"/api/approvals/{approval.token_id}/reject",
        data=json.dumps({"reason": ""}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert accepted.status_code == 400  # past CSRF, refused for the missing reason


def test_session_user_can_list(client, reviewer):
    client.force_login(reviewer)

    assert client.get("/api/approvals").status_code == 200


def test_outsider_with_a_token_may_look_but_not_decide(client, outsider):
    approval = make_approval()
    _, raw = ApiToken.issue(user=outsider)

    assert client.get("/api/approvals", **bearer(raw)).status_code == 200
    response = client.post(
        f"/api/approvals/{approval.token_id}/approve",
        data="{}",
        content_type="application/json",
        **bearer(raw),
    )
    assert response.status_code == 403
    assert response.json()["message"] == "You do not have permission to decide approvals."


def test_a_demo_reviewer_token_stops_working_with_a_real_trigger(client, settings):
    from io import StringIO

    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("prepare_demo", stdout=StringIO())
    _, raw = ApiToken.issue(user=User.objects.get(username="demo"))
    assert client.get("/api/approvals", **bearer(raw)).status_code == 200

    settings.TRIGGER_USES_SANDBOX = False
    assert client.get("/api/approvals", **bearer(raw)).status_code == 401
