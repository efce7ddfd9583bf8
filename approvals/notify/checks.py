"""System checks for notifications (docs/notifications.md, "Settings").

``approvals.E012``: email is on (``EMAIL_HOST`` is set) but ``APPROVALS_BASE_URL`` is not, or
is not an absolute http(s) origin: every link in every email would be wrong.
``approvals.E013``: ``NOTIFY_WEBHOOK_URL`` is not an http(s) URL, or has no secret, so its
receiver could not tell our messages from anyone's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

BASE_URL = "approvals.E012"
WEBHOOK = "approvals.E013"


def _is_origin(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.query


@register()
def check_notifications(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if settings.EMAIL_HOST and not _is_origin(settings.APPROVALS_BASE_URL):
        problems.append(
            Error(
                "Email is on (EMAIL_HOST is set) but APPROVALS_BASE_URL is "
                + ("missing." if not settings.APPROVALS_BASE_URL else "not an http(s) origin."),
                hint="Set APPROVALS_BASE_URL to the dashboard's public origin, e.g."
                " https://approvals.example.com: every link in an email starts with it.",
                id=BASE_URL,
            )
        )
    url = settings.NOTIFY_WEBHOOK_URL
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
        problems.append(Error("NOTIFY_WEBHOOK_URL is not an http(s) URL.", id=WEBHOOK))
    elif url and not settings.NOTIFY_WEBHOOK_SECRET:
        problems.append(
            Error(
                "NOTIFY_WEBHOOK_URL is set without NOTIFY_WEBHOOK_SECRET: its receiver could not"
                " verify that messages come from the dashboard.",
                hint="Set NOTIFY_WEBHOOK_SECRET to a long random string shared with the receiver.",
                id=WEBHOOK,
            )
        )
    return problems
