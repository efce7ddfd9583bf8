from __future__ import annotations

import pytest

from approvals.decisions import InvalidDecision, decide
from approvals.models import Approval, ApprovalState, Decision, Vote
from tests.decisions.helpers import make_policy
from tests.factories import make_approval

pytestmark = pytest.mark.django_db

NOT_IN_FORM = "This field is not part of the approval's form."
SCHEMA = {
    "type": "object",
    "properties": {
        "ticket": {"type": "string", "maxLength": 20},
        "replicas": {"type": "integer", "minimum": 1, "maximum": 10},
        "region": {"type": "string", "enum": ["eu", "us"]},
    },
    "required": ["ticket"],
}


def refused(**kwargs):
    with pytest.raises(InvalidDecision) as problem:
        decide(**kwargs)
    assert not Vote.objects.exists()
    assert not Decision.objects.exists()
    assert Approval.objects.get(token_id=kwargs["token_id"]).state == ApprovalState.PENDING
    return problem.value


def test_rejecting_needs_a_reason(reviewer):
    approval = make_approval()

    problem = refused(token_id=approval.token_id, actor=reviewer, verdict="reject", comment="  ")

    assert problem.status == 400
    assert problem.field_errors == {"reason": "A reason is required to reject."}


def test_comments_longer_than_ten_thousand_characters_are_refused(reviewer):
    approval = make_approval()

    problem = refused(
        token_id=approval.token_id, actor=reviewer, verdict="approve", comment="x" * 1_000_000
    )

    assert "comments" in problem.field_errors


def test_comment_must_be_text(reviewer):
    approval = make_approval()

    problem = refused(token_id=approval.token_id, actor=reviewer, verdict="approve", comment=42)

    assert problem.field_errors == {"comments": "Must be text."}


def test_policy_can_require_a_comment(reviewer):
    make_policy(require_comment=True)
    approval = make_approval()

    problem = refused(token_id=approval.token_id, actor=reviewer, verdict="approve", comment="")

    assert "comments" in problem.field_errors


def test_unknown_verdict_is_refused(reviewer):
    approval = make_approval()

    problem = refused(token_id=approval.token_id, actor=reviewer, verdict="maybe")

    assert "verdict" in problem.field_errors


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({}, {"ticket": "This field is required."}),
        ({"ticket": 5}, {"ticket": "Enter text."}),
        ({"ticket": "x" * 21}, {"ticket": "Enter at most 20 characters."}),
        ({"ticket": "OPS-1", "replicas": "3"}, {"replicas": "Enter a whole number."}),
        ({"ticket": "OPS-1", "replicas": 2.5}, {"replicas": "Enter a whole number."}),
        ({"ticket": "OPS-1", "replicas": True}, {"replicas": "Enter a whole number."}),
        ({"ticket": "OPS-1", "replicas": 11}, {"replicas": "Enter a number of at most 10."}),
        ({"ticket": "OPS-1", "region": "asia"}, {"region": "Choose one of: eu, us."}),
        ({"ticket": "OPS-1", "approved": False}, {"approved": NOT_IN_FORM}),
        ("not an object", {"fields": "Fields must be an object."}),
    ],
)  # fmt: skip
def test_form_fields_are_checked_against_the_announced_schema(reviewer, fields, errors):
    approval = make_approval(form_schema=SCHEMA)

    problem = refused(token_id=approval.token_id, actor=reviewer, verdict="approve", fields=fields)

    assert problem.field_errors == errors
