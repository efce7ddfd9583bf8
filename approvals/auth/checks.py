"""System checks for single sign-on (docs/sso.md, "Checks at start-up").

A malformed OIDC configuration is an error for every command (``migrate`` included): nobody
could sign in. Whether the provider answers is asked only by ``check --deploy`` and by the web
process when it starts (approvals_site.asgi), which logs it and keeps serving, so that the
break-glass accounts still work while the provider is down.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from approvals.auth import oidc_client

MALFORMED = "approvals.E010"
UNREACHABLE = "approvals.E011"
BREAK_GLASS_WITHOUT_SSO = "approvals.W010"


@register(Tags.security)
def check_oidc_configuration(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    messages: list[CheckMessage] = [
        Error(
            f"Single sign-on is misconfigured: {problem}.",
            hint="See README.md, 'Single sign-on', for each OIDC_* setting.",
            id=MALFORMED,
        )
        for problem in oidc_client.configuration_problems()
    ]
    if settings.SSO_BREAK_GLASS_USERS and not settings.SSO_ENABLED:
        messages.append(
            Warning(
                "SSO_BREAK_GLASS_USERS is set, but no single sign-on is configured: every"
                " account signs in with its password.",
                hint="Set OIDC_ISSUER or AUTH_PROXY_USER_HEADER, or unset SSO_BREAK_GLASS_USERS.",
                id=BREAK_GLASS_WITHOUT_SSO,
            )
        )
    return messages


@register(Tags.security, deploy=True)
def check_oidc_provider_answers(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if not settings.SSO_OIDC or oidc_client.configuration_problems():
        return []
    problem = oidc_client.reachability_problem()
    if problem is None:
        return []
    return [
        Error(
            f"Single sign-on cannot work: {problem}.",
            hint="Check OIDC_ISSUER, and that this host can reach the provider.",
            id=UNREACHABLE,
        )
    ]


def configuration_errors() -> list[str]:
    """What stops the web process at start-up (uvicorn runs no system checks itself)."""
    return [f"{m.id}: {m.msg}" for m in check_oidc_configuration() if m.is_serious()]


def configuration_warnings() -> list[str]:
    """Logged by the web process at start-up; it serves on."""
    return [f"{m.id}: {m.msg}" for m in check_oidc_configuration() if not m.is_serious()]


def provider_errors() -> list[str]:
    """Whether the provider answers, asked once the web process is up: it is logged, and the
    process serves on (break-glass sign-in still works)."""
    return [f"{m.id}: {m.msg}" for m in check_oidc_provider_answers()]
