"""The quick-start webhook channel from ``NOTIFY_WEBHOOK_URL`` and ``NOTIFY_WEBHOOK_SECRET``.

Kept as a channel row like any other, so its messages are outbox rows the admin shows; the
environment owns it: set, the row is created or brought in step; unset, it is turned off.
"""

from __future__ import annotations

import threading

from django.conf import settings

from approvals.notify.models import Channel, ChannelKind

ENVIRONMENT_CHANNEL_NAME = "Webhook from NOTIFY_WEBHOOK_URL"

_done: set[tuple[str, str]] = set()
_lock = threading.Lock()


def ensure_environment_channel() -> None:
    """Bring the environment's channel in step, once per process and setting."""
    wanted = (settings.NOTIFY_WEBHOOK_URL, settings.NOTIFY_WEBHOOK_SECRET)
    with _lock:
        if wanted in _done:
            return
        url, secret = wanted
        if url:
            Channel.objects.update_or_create(
                from_environment=True,
                defaults={"name": ENVIRONMENT_CHANNEL_NAME, "kind": ChannelKind.WEBHOOK,
                          "target": url, "secret": secret, "active": True},
            )  # fmt: skip
        else:
            Channel.objects.filter(from_environment=True).update(active=False)
        _done.add(wanted)


def forget() -> None:
    """For tests that change the settings: check the environment again next time."""
    with _lock:
        _done.clear()
