"""The demo's policies: one approval that needs two reviewers, one that needs a comment."""

from __future__ import annotations

from dataclasses import dataclass

from approvals.auth.demo import reviewers_group
from approvals.models import ApprovalPolicy


@dataclass(frozen=True)
class DemoPolicy:
    name: str
    task_pattern: str
    approvals_required: int = 1
    require_comment: bool = False
    reviewers_only: bool = False
    priority: int = 100


DEMO_POLICIES = [
    DemoPolicy(
        name="Production deploys: two reviewers",
        task_pattern="deploy-production",
        approvals_required=2,
        reviewers_only=True,
        priority=10,
    ),
    DemoPolicy(
        name="Refunds: say what you checked",
        task_pattern="refund-customer",
        require_comment=True,
        priority=20,
    ),
]


def ensure_demo_policies() -> list[str]:
    """Create the demo policies that do not exist yet (by name); the names created.

    An existing one is left as it is: an admin who changed it in the admin meant it.
    """
    created_names: list[str] = []
    for wanted in DEMO_POLICIES:
        policy, created = ApprovalPolicy.objects.get_or_create(
            name=wanted.name,
            defaults={
                "task_pattern": wanted.task_pattern,
                "approvals_required": wanted.approvals_required,
                "require_comment": wanted.require_comment,
                "restrict_to_groups": wanted.reviewers_only,
                "priority": wanted.priority,
            },
        )
        if created:
            if wanted.reviewers_only:
                policy.approver_groups.add(reviewers_group())
            created_names.append(policy.name)
    return created_names
