"""Every page asks anonymous visitors to sign in first."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_approval


@pytest.mark.parametrize("path", ["/", "/history/", "/approvals/{token}/"])
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, db: None, path: str) -> None:
    approval = make_approval()
    response = client.get(path.format(token=approval.token_id))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_anonymous_posts_decide_nothing(client: Client, db: None, action: str) -> None:
    approval = make_approval()
    response = client.post(f"/approvals/{approval.token_id}/{action}", {"reject-reason": "no"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not approval.votes.exists()


def test_the_login_page_offers_the_demo_reviewer_in_sandbox_mode(client: Client, db: None) -> None:
    body = client.get("/accounts/login/").content.decode()
    assert "demo-reviewer" in body


def test_the_login_page_hides_the_demo_reviewer_with_a_real_trigger_dev(
    client: Client, db: None, settings: object
) -> None:
    settings.TRIGGER_USES_SANDBOX = False  # type: ignore[attr-defined]
    body = client.get("/accounts/login/").content.decode()
    assert "demo-reviewer" not in body
