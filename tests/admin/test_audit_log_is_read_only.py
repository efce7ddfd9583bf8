from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.models import Decision, Verdict
from tests.factories import make_approval

pytestmark = pytest.mark.django_db


@pytest.fixture
def decision(reviewer):
    approval = make_approval(run_id="run_audit000001")
    return Decision.objects.create(
        approval=approval,
        actor=reviewer,
        verdict=Verdict.APPROVE,
        comment="<script>alert(1)</script>",
        envelope={"approved": True},
    )


def test_superuser_sees_the_audit_log_with_links(client, admin_user, decision):
    client.force_login(admin_user)

    page = client.get(reverse("admin:approvals_decision_changelist"))

    assert page.status_code == 200
    html = page.content.decode()
    assert decision.approval.token_id in html
    assert f'href="/approvals/{decision.approval.token_id}/"' in html
    assert reverse("admin:approvals_approval_change", args=[decision.approval_id]) in html
    assert "delete_selected" not in html


def test_nobody_can_add_change_or_delete_decisions(client, admin_user, decision):
    client.force_login(admin_user)
    change_url = reverse("admin:approvals_decision_change", args=[decision.pk])

    assert client.get(reverse("admin:approvals_decision_add")).status_code == 403
    assert client.post(change_url, {"comment": "edited", "verdict": "reject"}).status_code == 403
    assert (
        client.post(
            reverse("admin:approvals_decision_delete", args=[decision.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    bulk = client.post(
        reverse("admin:approvals_decision_changelist"),
        {"action": "delete_selected", "_selected_action": [decision.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    decision.refresh_from_db()
    assert decision.comment == "<script>alert(1)</script>"
    assert decision.verdict == Verdict.APPROVE


def test_detail_view_is_read_only_and_escaped(client, admin_user, decision):
    client.force_login(admin_user)

    page = client.get(reverse("admin:approvals_decision_change", args=[decision.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert 'name="_save"' not in html


@pytest.mark.parametrize("model", ["approval", "vote"])
def test_approvals_and_votes_are_read_only_too(client, admin_user, model):
    client.force_login(admin_user)

    assert client.get(reverse(f"admin:approvals_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:approvals_{model}_add")).status_code == 403


def test_policies_are_editable(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:approvals_approvalpolicy_add"),
        {
            "name": "Deploys",
            "task_pattern": "deploy-*",
            "tag": "",
            "approvals_required": 2,
            "priority": 10,
        },
    )

    assert response.status_code == 302
    from approvals.models import ApprovalPolicy

    assert ApprovalPolicy.objects.get().approvals_required == 2
