"""The audit log can list just the decisions made with a token someone else issued: the ones
to review after a token was misused."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from approvals.decisions import decide
from approvals.models import ApiToken
from tests.decisions.helpers import reviewer_named
from tests.factories import make_approval

pytestmark = pytest.mark.django_db


def test_the_filter_shows_only_decisions_through_another_persons_token(
    admin_user: Any, reviewer: Any
) -> None:
    own_token, _ = ApiToken.issue(user=reviewer, issued_by=reviewer)
    lent_token, _ = ApiToken.issue(user=reviewer, issued_by=admin_user)
    bystander = reviewer_named("bea")
    cases = {
        "waitpoint_owntoken": (reviewer, own_token),
        "waitpoint_lenttoken": (reviewer, lent_token),
        "waitpoint_signedin": (bystander, None),
    }
    for token_id, (actor, token) in cases.items():
        approval = make_approval(token_id=token_id)
        decide(
            token_id=approval.token_id, actor=actor, verdict="reject", comment="no",
            deliver_now=False, api_token=token,
        )  # fmt: skip
    admin = Client()
    admin.force_login(admin_user)
    url = reverse("admin:approvals_decision_changelist")

    lent = admin.get(url, {"through": "another"}).content.decode()
    own = admin.get(url, {"through": "own"}).content.decode()
    session = admin.get(url, {"through": "session"}).content.decode()

    listed = {
        name: {token_id for token_id in cases if token_id in page}
        for name, page in (("another", lent), ("own", own), ("session", session))
    }
    assert listed == {
        "another": {"waitpoint_lenttoken"},
        "own": {"waitpoint_owntoken"},
        "session": {"waitpoint_signedin"},
    }
