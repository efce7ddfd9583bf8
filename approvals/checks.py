"""System checks for the configuration a deployment gets wrong most often.

They run with every management command (and ``manage.py check``), so a malformed
Trigger.dev URL or key is reported at start-up, not on the first page view.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from approvals.auth.proxy import header_name_problem, parse_networks

# tr_<env>_<24 alphanumerics>, or the scoped tr_<env>_sk_<24> form (docs/trigger-v4.md,
# "Authentication").
SECRET_KEY_PATTERN = re.compile(r"^tr_(dev|stg|prod|preview)_(sk_)?[0-9A-Za-z]{24}$")


def _http_url_problem(value: str) -> str | None:
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https"):
        return "it must start with http:// or https://"
    if not parts.hostname:
        return "it has no host name"
    if parts.query or parts.fragment:
        return "it must not have a query string or fragment"
    return None


@register(Tags.compatibility)
def check_trigger_settings(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    url: str | None = settings.TRIGGER_API_URL
    key: str | None = settings.TRIGGER_SECRET_KEY
    if url is not None:
        problem = _http_url_problem(url)
        if problem:
            messages.append(
                Error(
                    f"TRIGGER_API_URL is malformed: {problem}.",
                    hint="Use the API origin, for example https://api.trigger.dev.",
                    id="approvals.E001",
                )
            )
    if key is not None and not SECRET_KEY_PATTERN.match(key):
        # Never echo the key itself: it is a secret even when it is wrong.
        if key.startswith("pk_"):
            why = "it is a public key (pk_...); the dashboard needs a secret key (tr_...)"
        else:
            why = "it does not look like a Trigger.dev secret key (tr_<env>_ + 24 characters)"
        messages.append(
            Error(
                f"TRIGGER_SECRET_KEY is malformed: {why}.",
                hint="Copy the secret key from the API keys page of your Trigger.dev project.",
                id="approvals.E002",
            )
        )
    if (url is None) != (key is None):
        missing = "TRIGGER_SECRET_KEY" if key is None else "TRIGGER_API_URL"
        messages.append(
            Error(
                f"{missing} is not set, but its partner is.",
                hint="Set both to use a real Trigger.dev, or neither to use the embedded sandbox.",
                id="approvals.E003",
            )
        )
    return messages


@register(Tags.compatibility)
def check_channel_layer(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    redis_url: str | None = settings.REDIS_URL
    if redis_url is None:
        return []
    parts = urlsplit(redis_url)
    if parts.scheme not in ("redis", "rediss", "unix") or (
        parts.scheme != "unix" and not parts.hostname
    ):
        return [
            Error(
                "REDIS_URL is malformed: use redis://host:port/db, rediss://... or unix://path.",
                id="approvals.E004",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_secret_key(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.SECRET_KEY == settings.INSECURE_DEV_SECRET_KEY:
        return [
            Warning(
                "DJANGO_SECRET_KEY is not set: a fixed development key is in use.",
                hint="Set DJANGO_SECRET_KEY to a long random value in any shared deployment.",
                id="approvals.W001",
            )
        ]
    return []


# A trusted authentication proxy (docs/auth-proxy.md). The middleware (approvals.auth.proxy)
# refuses to start on any of these errors too, since uvicorn runs no system checks.
PROXY_BAD_CIDR = "approvals.E005"
PROXY_TRUSTS_NOBODY = "approvals.E006"
PROXY_SECRET_INCOMPLETE = "approvals.E007"
PROXY_BAD_HEADER_NAME = "approvals.E008"
PROXY_SECRET_MIN_LENGTH = 16


@register(Tags.security)
def check_auth_proxy(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if not settings.SSO_PROXY:
        return []
    messages: list[CheckMessage] = []
    cidrs: list[str] = settings.AUTH_PROXY_TRUSTED_CIDRS
    _, bad = parse_networks(cidrs)
    if bad:
        messages.append(
            Error(
                f"AUTH_PROXY_TRUSTED_CIDRS has entries that are not an address or network: "
                f"{', '.join(repr(b) for b in bad)}.",
                hint="Write each as 10.0.0.5, 10.0.0.5/32 or 10.0.0.0/24 (no host bits set "
                "beyond the prefix), separated by commas.",
                id=PROXY_BAD_CIDR,
            )
        )
    secret_header: str | None = settings.AUTH_PROXY_SECRET_HEADER
    secret: str | None = settings.AUTH_PROXY_SECRET
    if not cidrs and not (secret_header and secret):
        messages.append(
            Error(
                "AUTH_PROXY_USER_HEADER is set, but no proxy is trusted: set "
                "AUTH_PROXY_TRUSTED_CIDRS, or AUTH_PROXY_SECRET_HEADER with AUTH_PROXY_SECRET.",
                hint="Without either, anyone could name themselves in the header.",
                id=PROXY_TRUSTS_NOBODY,
            )
        )
    # Never echo the secret, even a bad one.
    if bool(secret_header) != bool(secret):
        missing = "AUTH_PROXY_SECRET" if secret_header else "AUTH_PROXY_SECRET_HEADER"
        messages.append(
            Error(
                f"{missing} is not set, but its partner is.",
                hint="The proxy sends the secret in the header: set both, or neither.",
                id=PROXY_SECRET_INCOMPLETE,
            )
        )
    elif secret and len(secret) < PROXY_SECRET_MIN_LENGTH:
        messages.append(
            Error(
                f"AUTH_PROXY_SECRET is shorter than {PROXY_SECRET_MIN_LENGTH} characters.",
                hint="Use a long random value, e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'.",
                id=PROXY_SECRET_INCOMPLETE,
            )
        )
    for name in (
        "AUTH_PROXY_USER_HEADER",
        "AUTH_PROXY_GROUPS_HEADER",
        "AUTH_PROXY_EMAIL_HEADER",
        "AUTH_PROXY_SECRET_HEADER",
    ):
        value: str | None = getattr(settings, name)
        problem = header_name_problem(value) if value is not None else None
        if problem:
            messages.append(
                Error(f"{name} is not a usable header name: {problem}.", id=PROXY_BAD_HEADER_NAME)
            )
    return messages
