"""Who may decide an approval, and under which rules (docs/design.md, "Deciding").

A policy is chosen per approval: the first one, by ``priority``, whose task pattern and tag
match. No matching policy means the defaults: any reviewer (``approvals.decide_approval``),
one approval, no comment required, and the requester may not approve their own run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from approvals import addresses, envelopes
from approvals.models import Approval, ApprovalPolicy, Verdict

DECIDE_PERMISSION = "approvals.decide_approval"


@dataclass(frozen=True)
class Rules:
    """The effective rules for one approval (a policy, or the defaults when none matches)."""

    policy: ApprovalPolicy | None
    approvals_required: int = 1
    allow_self_approval: bool = False
    require_comment: bool = False

    @classmethod
    def of(cls, policy: ApprovalPolicy | None) -> Rules:
        if policy is None:
            return cls(policy=None)
        return cls(
            policy=policy,
            approvals_required=max(1, policy.approvals_required),
            allow_self_approval=policy.allow_self_approval,
            require_comment=policy.require_comment,
        )


class PolicyBook:
    """Every policy (with its groups) read once, for pages that ask about many approvals:
    the queue's per-row signals and its "Needs my decision" view. Build one per request or
    render; it does not notice policies changed after it was built."""

    def __init__(self) -> None:
        self.policies = list(
            ApprovalPolicy.objects.prefetch_related("approver_groups").order_by("priority", "id")
        )

    def policy_for(self, *, task_identifier: str, tags: list[Any]) -> ApprovalPolicy | None:
        for policy in self.policies:
            if policy.matches(task_identifier=task_identifier, tags=tags):
                return policy
        return None

    def policy_of(self, approval: Approval) -> ApprovalPolicy | None:
        return self.policy_for(task_identifier=approval.task_identifier, tags=tags_of(approval))


def tags_of(approval: Approval) -> list[Any]:
    """The tags a policy's ``tag`` is matched against: the run's and the token's."""
    return [*(approval.run_tags or []), *(approval.token_tags or [])]


def policy_for(approval: Approval) -> ApprovalPolicy | None:
    """The first policy, by priority, that matches the approval's task and tags."""
    return PolicyBook().policy_of(approval)


def rules_for(approval: Approval) -> Rules:
    return Rules.of(policy_for(approval))


def is_requester(*, user: Any, approval: Approval) -> bool:
    """Whether ``user`` asked for this run: ``requestedBy`` is compared with the user's email
    and username once both are normalised (approvals.addresses: display names, ``mailto:``,
    case, Unicode compatibility forms and invisible characters do not matter)."""
    return addresses.same_person(
        approval.requested_by, [user.email or "", user.get_username() or ""]
    )


def refusal_reason(
    *,
    user: Any,
    approval: Approval,
    verdict: str = Verdict.APPROVE,
    policy: ApprovalPolicy | None = None,
) -> str | None:
    """``None`` when ``user`` may give ``verdict`` on ``approval``; otherwise why not, in words
    fit to show them. The self-approval rule only limits approving: a requester may always
    reject (withdraw) their own request. Pass ``policy`` when it is already known."""
    if policy is None:
        policy = policy_for(approval)
    if (refusal := policy_refusal(user=user, policy=policy)) is not None:
        return refusal
    if verdict == Verdict.APPROVE and (problem := envelopes.schema_problem(approval.form_schema)):
        return problem
    rules = Rules.of(policy)
    if (
        verdict == Verdict.APPROVE
        and not rules.allow_self_approval
        and is_requester(user=user, approval=approval)
    ):
        return "You requested this run, and may not approve it yourself."
    return None


def policy_refusal(
    *, user: Any, policy: ApprovalPolicy | None, group_ids: set[int] | None = None
) -> str | None:
    """Why ``user`` may not decide at all under ``policy`` (the permission, the policy's
    groups), whatever the approval says; ``None`` when they may. ``group_ids``, the user's
    groups, saves a query per call when asking about many approvals."""
    if not user.is_authenticated or not user.is_active:
        return "Sign in to decide approvals."
    if not user.has_perm(DECIDE_PERMISSION):
        return "You do not have permission to decide approvals."
    if policy is not None and policy.restrict_to_groups:
        groups = list(policy.approver_groups.all())
        if not groups:
            return (
                f"The policy “{policy}” allows only listed groups to decide, and lists none"
                " (its groups were removed): nobody may decide until an admin fixes it."
            )
        # Superusers too: a policy naming groups is an explicit list of who decides.
        wanted = {group.pk for group in groups}
        member = (
            bool(wanted & group_ids)
            if group_ids is not None
            else user.groups.filter(pk__in=wanted).exists()
        )
        if not member:
            names = ", ".join(sorted(g.name for g in groups))
            return f"Only members of {names} may decide this approval (policy “{policy}”)."
    return None
