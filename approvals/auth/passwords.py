"""Password sign-in, and when it is allowed.

Django's model backend, with two refusals: the demo reviewers outside sandbox mode
(approvals.auth.demo), and, once single sign-on is configured, every account except the named
break-glass admins (settings.SSO_BREAK_GLASS_USERS; docs/sso.md, "Break-glass access").
The rule lives in the backend, so /accounts/login/, /admin/login/ and a hand-made POST to
either meet it alike.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from approvals.auth.demo import DemoAwareModelBackend

logger = logging.getLogger(__name__)


def password_sign_in_open() -> bool:
    """Whether the password form is offered at all."""
    return not settings.SSO_ENABLED or bool(settings.SSO_BREAK_GLASS_USERS)


def is_break_glass(user: Any) -> bool:
    """A named break-glass account, and an active admin (staff) one."""
    return (
        user is not None
        and user.get_username() in settings.SSO_BREAK_GLASS_USERS
        and bool(user.is_staff)
    )


class PasswordBackend(DemoAwareModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and settings.SSO_ENABLED:
            if not is_break_glass(user):
                return None  # counted as a failed sign-in by django-axes, like a bad password
            logger.warning("break-glass password sign-in by %s", user.get_username())
        return user

    def get_user(self, user_id: Any) -> Any:
        # A password session from before SSO was configured ends with it, break-glass aside.
        user = super().get_user(user_id)
        if user is not None and settings.SSO_ENABLED and not is_break_glass(user):
            return None
        return user
