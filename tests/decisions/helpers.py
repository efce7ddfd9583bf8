"""Small helpers shared by the decision, API and admin tests."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission, User

from approvals.models import ApprovalPolicy

COMPLETE_ROUTE = "POST /api/v1/waitpoints/tokens/{waitpointId}/complete"


def completions(sandbox: Any) -> int:
    """How many complete requests reached the sandbox (failed ones included)."""
    return int(sandbox.stats()["requests"].get(COMPLETE_ROUTE, 0))


def finished_run(sandbox: Any, run_id: str) -> dict[str, Any]:
    """The sandbox's view of the run once it has resumed and finished (sandbox time moved on)."""
    sandbox.control("POST", "clock", {"advanceSeconds": 5})
    return sandbox.control("GET", f"runs/{run_id}")  # type: ignore[no-any-return]


def token_upstream(sandbox: Any, token_id: str) -> dict[str, Any]:
    """The token as the Trigger.dev API reports it."""
    import httpx

    response = httpx.get(
        f"{sandbox.url}/api/v1/waitpoints/tokens/{token_id}",
        headers={"Authorization": f"Bearer {sandbox.secret_key}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def reviewer_named(username: str, *, groups: tuple[str, ...] = ("Reviewers",)) -> User:
    """Another reviewer with the decide permission, in ``groups``."""
    user = User.objects.create_user(username, f"{username}@example.com")  # no hashing: fast
    permission = Permission.objects.get(codename="decide_approval")
    for name in groups:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(permission)
        user.groups.add(group)
    return user


def make_policy(*, groups: tuple[str, ...] = (), **fields: Any) -> ApprovalPolicy:
    fields.setdefault("name", "Production deploys")
    fields.setdefault("restrict_to_groups", bool(groups))
    policy = ApprovalPolicy.objects.create(**fields)
    for name in groups:
        group, _ = Group.objects.get_or_create(name=name)
        policy.approver_groups.add(group)
    return policy
