"""The demo reviewer: offered only while the embedded sandbox is in use."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model


def ensure_demo_reviewer() -> bool:
    """Create (or re-activate) the demo account in sandbox mode; disable it otherwise.

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
    return True
