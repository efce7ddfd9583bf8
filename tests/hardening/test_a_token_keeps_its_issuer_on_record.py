"""A token's issuer stays on record: deleting the issuer's account does not turn the token into
a command-line one, and a token from before issuers were recorded says "unknown" rather than
passing for the command line's."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.decisions import decide
from approvals.models import COMMAND_LINE, ApiToken, Decision
from tests.factories import make_approval

pytestmark = pytest.mark.django_db


def test_deleting_the_issuer_keeps_their_name_on_the_token(admin_user: Any, reviewer: Any) -> None:
    admin = Client()
    admin.force_login(admin_user)
    admin.post("/admin/approvals/apitoken/add/", {"user": reviewer.pk, "name": "bot"})
    token = ApiToken.objects.get(user=reviewer)

    admin_user.delete()
    token.refresh_from_db()
    approval = make_approval()
    decide(
        token_id=approval.token_id, actor=reviewer, verdict="reject", comment="no",
        deliver_now=False, api_token=token,
    )  # fmt: skip

    assert token.issued_by is None
    assert token.issuer_label == "ada"
    decision = Decision.objects.get()
    assert decision.token_issued_by == "ada" and decision.via_token_of_another


def test_a_token_from_before_issuers_were_recorded_is_of_unknown_issue(reviewer: Any) -> None:
    token, _raw = ApiToken.issue(user=reviewer)
    assert token.issuer_label == COMMAND_LINE  # issued now, by the command's path
    # What the migration leaves on a token made before issuers were recorded.
    ApiToken.objects.filter(pk=token.pk).update(issued_by=None, issuer_name="")
    token.refresh_from_db()

    assert token.issuer_label != COMMAND_LINE
    assert "unknown" in token.issuer_label
