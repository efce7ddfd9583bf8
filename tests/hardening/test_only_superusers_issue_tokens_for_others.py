"""A token acts as its user. Staff who may add tokens must not mint one for a reviewer and
decide in the reviewer's name: only superusers issue tokens for others, every token records
its issuer, and the audit log shows a decision made with someone else's token."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from approvals.models import COMMAND_LINE, ApiToken, Decision
from tests.factories import make_approval

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_clerk(db: None) -> User:
    """Staff with every API-token permission, and nothing else."""
    clerk = User.objects.create_user("clerk", "clerk@example.com", "pw-clerk-1234", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__endswith="_apitoken"))
    return clerk


def test_staff_cannot_issue_a_token_for_another_user(token_clerk: User, reviewer: Any) -> None:
    client = Client()
    client.force_login(token_clerk)

    form = client.get(reverse("admin:approvals_apitoken_add")).content.decode()
    response = client.post(
        reverse("admin:approvals_apitoken_add"), {"user": reviewer.pk, "name": "impersonate"}
    )

    assert f'value="{reviewer.pk}"' not in form  # not even offered
    assert response.status_code in (200, 403)
    assert not ApiToken.objects.filter(user=reviewer).exists()


def test_staff_may_issue_a_token_for_themselves_and_it_names_them(token_clerk: User) -> None:
    client = Client()
    client.force_login(token_clerk)

    client.post(reverse("admin:approvals_apitoken_add"), {"user": token_clerk.pk, "name": "me"})

    token = ApiToken.objects.get(user=token_clerk)
    assert token.issued_by == token_clerk


def test_a_superuser_may_issue_for_others_and_the_audit_log_says_so(
    admin_user: Any, reviewer: Any
) -> None:
    admin = Client()
    admin.force_login(admin_user)
    admin.post(reverse("admin:approvals_apitoken_add"), {"user": reviewer.pk, "name": "bot"})
    token = ApiToken.objects.get(user=reviewer)
    assert token.issued_by == admin_user
    raw = token.set_new_secret()  # the shown-once value is gone; give it a known one
    token.save()
    approval = make_approval()

    Client().post(
        f"/api/approvals/{approval.token_id}/reject",
        data={"reason": "not now"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )

    decision = Decision.objects.get()
    assert decision.actor == reviewer
    assert decision.token_issued_by == admin_user.username and decision.via_token_of_another
    changelist = admin.get(reverse("admin:approvals_decision_changelist")).content.decode()
    assert f"issued by {admin_user.username} (not the actor)" in changelist


def test_a_command_line_token_names_the_command_line(reviewer: Any) -> None:
    from django.core.management import call_command

    call_command("create_api_token", reviewer.username)

    assert ApiToken.objects.get(user=reviewer).issuer_label == COMMAND_LINE
