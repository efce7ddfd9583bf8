from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from approvals.limits import COMMENT_MAX


def trigger_mode(request: HttpRequest) -> dict[str, Any]:
    """Lets every template say whether it shows the embedded sandbox's demo data, and use the
    text limits (``maxlength``) that the server enforces (approvals.limits)."""
    return {
        "trigger_uses_sandbox": settings.TRIGGER_USES_SANDBOX,
        "comment_max": COMMENT_MAX,
        # With SSO, rights come from the provider's groups (pages say where to ask).
        "sso_enabled": settings.SSO_ENABLED,
    }
