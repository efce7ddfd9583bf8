"""The demo reviewer: offered only while the embedded sandbox is in use."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission

REVIEWERS_GROUP = "Reviewers"


def reviewers_group() -> Group:
    """The group holding the permission to decide; created on first use."""
    group, _ = Group.objects.get_or_create(name=REVIEWERS_GROUP)
    group.permissions.add(
        Permission.objects.get(content_type__app_label="approvals", codename="decide_approval")
    )
    return group


def ensure_demo_reviewer() -> bool:
    """Create (or re-activate) the demo reviewer in sandbox mode; disable it otherwise.

    Returns whether the account is usable afterwards.
    """
    User = get_user_model()
    username = settings.DEMO_REVIEWER_USERNAME
    if not settings.TRIGGER_USES_SANDBOX:
        User.objects.filter(username=username).update(is_active=False)
        return False
    user, _ = User.objects.get_or_create(
        username=username, defaults={"email": "demo.reviewer@example.com"}
    )
    user.is_active = True
    user.set_password(settings.DEMO_REVIEWER_PASSWORD)
    user.save()
    user.groups.add(reviewers_group())
    return True


class DemoAwareModelBackend(ModelBackend):
    """Django's backend, except that the demo reviewer cannot sign in (or stay signed in)
    once a real Trigger.dev is configured, even if nobody ran ``prepare_demo`` since."""

    def user_can_authenticate(self, user: Any) -> bool:
        if (
            not settings.TRIGGER_USES_SANDBOX
            and user is not None
            and user.get_username() == settings.DEMO_REVIEWER_USERNAME
        ):
            return False
        return super().user_can_authenticate(user)
