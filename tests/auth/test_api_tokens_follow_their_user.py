"""An API token acts as its user, as that user is now: it stops working when the user is
deactivated, and deciding through it follows the user's rights at each call, not the rights
they had when it was issued. Reading needs only a login, so a token of a user without the
decide right still reads (docs/design.md, "Deciding")."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from approvals.auth.demo import reviewers_group
from approvals.models import ApiToken, Approval, ApprovalPolicy, Vote
from tests.factories import make_approval

pytestmark = pytest.mark.django_db


@pytest.fixture
def payments() -> Group:
    """The group a "Payments only" policy lets decide refunds."""
    group = Group.objects.create(name="Payments")
    policy = ApprovalPolicy.objects.create(
        name="Payments only", task_pattern="refund-*", restrict_to_groups=True
    )
    policy.approver_groups.add(group)
    return group


@pytest.fixture
def rita(payments: Group) -> User:
    """A reviewer in the Payments group."""
    user = User.objects.create_user("rita", "rita@example.com")
    user.groups.add(reviewers_group(), payments)
    return user


@pytest.fixture
def token(rita: User) -> str:
    return ApiToken.issue(user=rita, name="rita's script")[1]


def _refund() -> Approval:
    return make_approval(task_identifier="refund-customer")


def _list(token: str) -> int:
    return Client().get("/api/approvals", headers={"Authorization": f"Bearer {token}"}).status_code


def _approve(token: str, approval: Approval) -> int:
    response = Client().post(
        f"/api/approvals/{approval.token_id}/approve",
        data=json.dumps({"comments": "Fine"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code


def test_a_token_works_while_its_user_may_decide(token: str) -> None:
    approval = _refund()
    assert _list(token) == 200
    assert _approve(token, approval) == 200
    assert Vote.objects.filter(approval=approval, actor__username="rita").exists()


def test_a_token_stops_working_when_its_user_is_deactivated(rita: User, token: str) -> None:
    rita.is_active = False
    rita.save()
    approval = _refund()

    assert _list(token) == 401
    assert _approve(token, approval) == 401
    assert not Vote.objects.exists()


def test_a_token_works_again_if_its_user_is_reactivated(rita: User, token: str) -> None:
    # Deactivating is not revoking: the token is the user's as long as the user is.
    rita.is_active = False
    rita.save()
    assert _list(token) == 401
    rita.is_active = True
    rita.save()
    assert _list(token) == 200


def test_deciding_through_a_token_stops_at_once_when_its_user_leaves_the_reviewers(
    rita: User, token: str
) -> None:
    approval = _refund()
    rita.groups.remove(reviewers_group())  # as an SSO sign-in without the reviewer group does

    assert _approve(token, approval) == 403
    assert not Vote.objects.exists()
    assert _list(token) == 200  # reading needs only a login


def test_deciding_through_a_token_stops_at_once_when_its_user_leaves_the_policys_group(
    rita: User, payments: Group, token: str
) -> None:
    refund = _refund()
    elsewhere = make_approval(task_identifier="deploy-production")  # no policy: any reviewer
    rita.groups.remove(payments)

    assert _approve(token, refund) == 403
    assert _approve(token, elsewhere) == 200
    assert list(Vote.objects.values_list("approval__token_id", flat=True)) == [elsewhere.token_id]


def test_a_token_issued_before_its_user_became_a_reviewer_decides_once_they_are(
    payments: Group,
) -> None:
    nora = User.objects.create_user("nora", "nora@example.com")
    token = ApiToken.issue(user=nora)[1]
    approval = _refund()
    assert _approve(token, approval) == 403

    nora.groups.add(reviewers_group(), payments)

    assert _approve(token, approval) == 200


def test_a_token_of_a_user_without_rights_reads_but_does_not_decide() -> None:
    nora = User.objects.create_user("nora", "nora@example.com")
    token = ApiToken.issue(user=nora)[1]
    approval = make_approval()

    assert _list(token) == 200
    assert _approve(token, approval) == 403
    assert not Vote.objects.exists()
