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
