"""What ``make run`` seeds for the demo (``manage.py prepare_demo``): two reviewers, the
policies worth seeing, and a little history a reviewer sees on /history/ and on each detail page."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import Client, RequestFactory, override_settings

from approvals.models import (
    Approval,
    ApprovalPolicy,
    ApprovalState,
    Decision,
    DeliveryState,
    Verdict,
    Vote,
)
from approvals.policies import policy_for

pytestmark = pytest.mark.django_db(transaction=False)

ACCOUNTS = [("demo", "demo-reviewer"), ("demo2", "demo2-reviewer")]


def _prepare() -> str:
    out = StringIO()
    call_command("prepare_demo", stdout=out)
    return out.getvalue()


def _sign_in(username: str, password: str) -> Any:
    return authenticate(
        RequestFactory().post("/accounts/login/"), username=username, password=password
    )


def _signed_in_client(username: str, password: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.content[:500]
    return client


def _history() -> dict[str, Approval]:
    return {
        approval.task_identifier: approval
        for approval in Approval.objects.exclude(state=ApprovalState.PENDING)
    }


def _snapshot() -> dict[str, Any]:
    """Everything the command writes, as it would be seen (password hashes included)."""
    users = get_user_model().objects.order_by("username")
    return {
        "users": [(u.username, u.password, u.is_active, list(u.groups.all())) for u in users],
        "policies": list(ApprovalPolicy.objects.order_by("id").values()),
        "approvals": list(Approval.objects.order_by("id").values()),
        "votes": list(Vote.objects.order_by("id").values()),
        "decisions": list(Decision.objects.order_by("id").values()),
    }


def test_both_demo_reviewers_can_sign_in_and_decide(db: None) -> None:
    output = _prepare()

    for username, password in ACCOUNTS:
        assert f"{username} / {password}" in output
        user = _sign_in(username, password)
        assert user is not None and user.has_perm("approvals.decide_approval")
        _signed_in_client(username, password)


def test_one_task_needs_two_reviewers_and_refunds_need_a_comment(db: None) -> None:
    _prepare()

    deploy = ApprovalPolicy.objects.get(task_pattern="deploy-production")
    assert deploy.approvals_required == 2
    assert deploy.restrict_to_groups
    assert [g.name for g in deploy.approver_groups.all()] == ["Reviewers"]
    refund = ApprovalPolicy.objects.get(task_pattern="refund-customer")
    assert refund.require_comment and refund.approvals_required == 1
    history = _history()
    assert policy_for(history["deploy-production"]) == deploy
    assert policy_for(history["refund-customer"]) == refund


def test_the_history_holds_an_approval_a_rejection_and_a_timeout(db: None) -> None:
    _prepare()

    history = _history()
    assert set(history) == {"deploy-production", "refund-customer", "grant-access"}

    approved = history["deploy-production"]
    assert approved.state == ApprovalState.DECIDED
    assert approved.decision.verdict == Verdict.APPROVE
    assert approved.decision.delivery_state == DeliveryState.DELIVERED
    assert sorted(v.actor_name for v in approved.votes.all()) == ["demo", "demo2"]
    assert approved.decision.envelope["approvers"] == [
        "demo.reviewer@example.com",
        "demo2.reviewer@example.com",
    ]

    rejected = history["refund-customer"]
    assert rejected.state == ApprovalState.DECIDED
    assert rejected.decision.verdict == Verdict.REJECT
    assert rejected.decision.delivery_state == DeliveryState.DELIVERED
    assert rejected.decision.comment

    timed_out = history["grant-access"]
    assert timed_out.state == ApprovalState.TIMED_OUT
    assert not Vote.objects.filter(approval=timed_out).exists()

    for approval in history.values():
        # As the sandbox left them: every run finished, so no sync looks at them again.
        assert approval.run_status == "COMPLETED"
        assert approval.run_finished_at is not None
        assert approval.run_output is not None
        # The timeline in order: token created upstream, then seen by the dashboard.
        assert approval.created_at <= approval.first_seen_at
        assert approval.run_metadata["waitTokens"][0]["summary"]
    assert approved.run_output is not None and approved.run_output["status"] == "approved"
    assert rejected.run_output is not None and rejected.run_output["status"] == "rejected"
    assert timed_out.run_output == {"status": "timed-out"}


def test_a_reviewer_sees_the_history_and_each_detail_page(db: None) -> None:
    _prepare()
    client = _signed_in_client(*ACCOUNTS[0])

    page = client.get("/history/")

    assert page.status_code == 200
    text = page.content.decode()
    history = _history()
    for approval in history.values():
        assert approval.description in text
    for approval in history.values():
        detail = client.get(f"/approvals/{approval.token_id}/")
        assert detail.status_code == 200
        assert approval.description in detail.content.decode()
    rejected = client.get(f"/approvals/{history['refund-customer'].token_id}/").content.decode()
    assert "The payment provider already refunded this charge" in rejected


def test_running_it_again_changes_nothing(db: None) -> None:
    _prepare()
    before = _snapshot()

    output = _prepare()

    assert _snapshot() == before
    assert "created" not in output and "recorded" not in output


def test_an_admins_change_to_a_demo_policy_survives_a_restart(db: None) -> None:
    _prepare()
    ApprovalPolicy.objects.filter(task_pattern="deploy-production").update(approvals_required=3)

    _prepare()

    assert ApprovalPolicy.objects.get(task_pattern="deploy-production").approvals_required == 3
    assert ApprovalPolicy.objects.count() == 2


def test_with_a_real_trigger_both_demo_accounts_are_disabled(db: None) -> None:
    _prepare()

    with override_settings(TRIGGER_USES_SANDBOX=False):
        output = _prepare()
        assert "disabled" in output
        for username, password in ACCOUNTS:
            assert not get_user_model().objects.get(username=username).is_active
            assert _sign_in(username, password) is None


def test_with_a_real_trigger_neither_can_sign_in_even_if_still_active(db: None) -> None:
    _prepare()

    with override_settings(TRIGGER_USES_SANDBOX=False):
        for username, password in ACCOUNTS:
            assert get_user_model().objects.get(username=username).is_active
            assert _sign_in(username, password) is None
            response = Client().post(
                "/accounts/login/", {"username": username, "password": password}
            )
            assert response.status_code != 302


def test_with_a_real_trigger_nothing_is_seeded(db: None) -> None:
    with override_settings(TRIGGER_USES_SANDBOX=False):
        _prepare()

    assert not ApprovalPolicy.objects.exists()
    assert not Approval.objects.exists()
    assert not get_user_model().objects.filter(username__in=["demo", "demo2"]).exists()


def test_the_sign_in_page_names_both_demo_accounts(db: None) -> None:
    body = Client().get("/accounts/login/").content.decode()

    for username, password in ACCOUNTS:
        assert f"<code>{username}</code>" in body
        assert f"<code>{password}</code>" in body


def test_the_empty_scenario_gets_the_reviewers_and_no_demo_data(db: None) -> None:
    with override_settings(TRIGGER_SANDBOX_SCENARIO="empty"):
        _prepare()

    for username, password in ACCOUNTS:
        assert _sign_in(username, password) is not None
    assert not ApprovalPolicy.objects.exists()
    assert not Approval.objects.exists()
