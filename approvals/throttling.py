"""What a locked-out client sees (django-axes' ``AXES_LOCKOUT_CALLABLE``): the branded page
for sign-in forms, a JSON error under ``/api/`` like every API answer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

# Failed OIDC callbacks are recorded under one pseudo-account per address
# (approvals.auth.oidc_views): "oidc-callback:<address>".
OIDC_CALLBACK_PREFIX = "oidc-callback:"


def lockout_parameters(
    request_or_attempt: Any, credentials: dict[str, Any] | None = None
) -> list[str]:
    """django-axes' ``AXES_LOCKOUT_PARAMETERS``: an account or an address locks
    (docs/hardening.md, "Sign-in throttling"), except for the OIDC callback, which only its
    own failures lock. Mistyped break-glass passwords behind an office's one address must not
    lock everyone there out of single sign-on, the only way in they have."""
    username = (credentials or {}).get("username") or getattr(request_or_attempt, "username", "")
    if str(username or "").startswith(OIDC_CALLBACK_PREFIX):
        return ["username"]
    return ["username", "ip_address"]


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {
                "success": False,
                "message": (
                    "Too many failed API token attempts from this address;"
                    f" try again in {minutes} minutes."
                ),
                "code": "throttled",
            },
            status=429,
        )
    else:
        response = render(
            request, "registration/locked_out.html", {"cooloff_minutes": minutes}, status=429
        )
    response["Retry-After"] = str(minutes * 60)
    return response
