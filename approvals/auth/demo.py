"""The demo reviewers: offered only while the embedded sandbox is in use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission

REVIEWERS_GROUP = "Reviewers"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    email: str


def demo_accounts() -> list[DemoAccount]:
    """Both demo reviewers, as the settings name them."""
    return [
        DemoAccount(
            settings.DEMO_REVIEWER_USERNAME,
            settings.DEMO_REVIEWER_PASSWORD,
            "demo.reviewer@example.com",
        ),
        DemoAccount(
            settings.DEMO_SECOND_REVIEWER_USERNAME,
            settings.DEMO_SECOND_REVIEWER_PASSWORD,
            "demo2.reviewer@example.com",
        ),
    ]


def demo_usernames() -> set[str]:
    return {account.username for account in demo_accounts()}


def reviewers_group() -> Group:
    """The group holding the permission to decide; created on first use."""
    group, _ = Group.objects.get_or_create(name=REVIEWERS_GROUP)
    group.permissions.add(
        Permission.objects.get(content_type__app_label="approvals", codename="decide_approval")
    )
    return group


def ensure_demo_reviewers() -> bool:
    """Create (or re-activate) both demo reviewers in sandbox mode; disable them otherwise.

    Returns whether the accounts are usable afterwards. Running it again changes nothing: a
    password already right is not hashed anew, which would sign the reviewers out.
    """
    User = get_user_model()
    if not settings.TRIGGER_USES_SANDBOX:
        User.objects.filter(username__in=demo_usernames()).update(is_active=False)
        return False
    group = reviewers_group()
    for account in demo_accounts():
        user, _ = User.objects.get_or_create(
            username=account.username, defaults={"email": account.email}
        )
        changed = not user.is_active or not user.check_password(account.password)
        if changed:
            user.is_active = True
            user.set_password(account.password)
            user.save()
        user.groups.add(group)
    return True


class DemoAwareModelBackend(ModelBackend):
    """Django's backend, except that the demo reviewers cannot sign in (or stay signed in)
    once a real Trigger.dev is configured, even if nobody ran ``prepare_demo`` since."""

    def user_can_authenticate(self, user: Any) -> bool:
        if (
            not settings.TRIGGER_USES_SANDBOX
            and user is not None
            and user.get_username() in demo_usernames()
        ):
            return False
        return super().user_can_authenticate(user)
