"""With N of M approvals, every vote is part of the audit log: a vote cast through the JSON API
records the token and who issued it, and the admin flags a token someone else issued."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from approvals.models import ApiToken, Decision, Vote
from tests.decisions.helpers import make_policy
from tests.factories import make_approval

pytestmark = pytest.mark.django_db


def test_a_vote_through_someone_elses_token_is_flagged(admin_user: Any, reviewer: Any) -> None:
    make_policy(approvals_required=2)
    approval = make_approval()
    token, raw = ApiToken.issue(user=reviewer, issued_by=admin_user)

    response = Client().post(
        f"/api/approvals/{approval.token_id}/approve",
        data={"comments": "one of two"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )

    assert response.status_code == 200, response.content
    assert not Decision.objects.exists()  # one vote of two: nothing decided yet
    vote = Vote.objects.get()
    assert (vote.api_token, vote.token_issued_by) == (token, "ada")
    admin = Client()
    admin.force_login(admin_user)
    votes = admin.get(reverse("admin:approvals_vote_changelist")).content.decode()
    assert f"API token {token.hint}… issued by ada (not the actor)" in votes
