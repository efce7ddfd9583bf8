"""Renaming a user does not rewrite who decided: the audit log keeps the name of the time."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from approvals.decisions import decide
from approvals.models import Decision, Vote
from tests.factories import make_approval

pytestmark = pytest.mark.django_db


def test_a_renamed_reviewer_still_shows_as_they_were_named(reviewer: Any, admin_user: Any) -> None:
    approval = make_approval()
    old_name = reviewer.username
    decide(
        token_id=approval.token_id,
        actor=reviewer,
        verdict="reject",
        comment="no",
        deliver_now=False,
    )

    reviewer.username, reviewer.email = "someone-else", "else@example.com"
    reviewer.save()

    decision = Decision.objects.get()
    assert (decision.actor_name, Vote.objects.get().actor_name) == (old_name, old_name)
    assert str(decision).endswith(f"by {old_name}@example.com")
    admin = Client()
    admin.force_login(admin_user)
    audit = admin.get(reverse("admin:approvals_decision_changelist")).content.decode()
    history = admin.get("/history/").content.decode()
    page = admin.get(f"/approvals/{approval.token_id}/").content.decode()
    for text in (audit, history, page):
        assert old_name in text and "someone-else" not in text


def test_an_n_of_m_envelope_names_earlier_approvers_as_they_voted(
    reviewer: Any, second_reviewer: Any
) -> None:
    from tests.decisions.helpers import make_policy

    make_policy(name="Two keys", approvals_required=2)
    approval = make_approval()
    first_email = reviewer.email
    decide(token_id=approval.token_id, actor=reviewer, verdict="approve", deliver_now=False)
    reviewer.email = "renamed@example.com"
    reviewer.save()

    result = decide(
        token_id=approval.token_id, actor=second_reviewer, verdict="approve", deliver_now=False
    )

    assert result.decision is not None
    assert result.decision.envelope["approvers"] == [first_email, second_reviewer.email]
