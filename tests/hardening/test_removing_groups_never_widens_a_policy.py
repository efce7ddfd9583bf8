"""Deleting the groups of a "finance only" policy must not let every reviewer decide: a
policy restricted to groups with none left refuses everyone, and says so."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.test import Client

from approvals.admin import ApprovalPolicyForm
from approvals.policies import refusal_reason
from tests.decisions.helpers import make_policy, reviewer_named
from tests.factories import make_approval


def test_a_policy_whose_only_group_was_deleted_refuses_everyone(db: None) -> None:
    make_policy(name="Finance only", groups=("Finance",), task_pattern="refund-*")
    finance = reviewer_named("fiona", groups=("Finance",))
    approval = make_approval(task_identifier="refund-customer")
    assert refusal_reason(user=finance, approval=approval) is None

    Group.objects.filter(name="Finance").delete()
    anyone = reviewer_named("rob")

    refusal = refusal_reason(user=anyone, approval=approval)
    assert refusal is not None and "nobody may decide until an admin fixes it" in refusal


def test_the_detail_page_explains_the_broken_policy(db: None, reviewer: Any) -> None:
    make_policy(name="Finance only", groups=("Finance",))
    Group.objects.filter(name="Finance").delete()
    approval = make_approval()
    client = Client()
    client.force_login(reviewer)

    page = client.get(f"/approvals/{approval.token_id}/").content.decode()

    assert "the policy's groups were removed, so nobody may decide" in page
    assert 'name="comments"' not in page  # no approve form to fill in vain


def test_the_admin_refuses_a_restricted_policy_without_groups(db: None) -> None:
    form = ApprovalPolicyForm(
        data={"name": "Nobody", "priority": 1, "approvals_required": 1, "restrict_to_groups": "on"}
    )

    assert not form.is_valid()
    assert "Choose at least one group" in str(form.errors["approver_groups"])
