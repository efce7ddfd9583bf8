"""Sockets end with the session: signing out (here, in the admin, or through the provider's
sign-out) closes the user's open pages' sockets at once, as does deactivating the account.
The session check each socket makes on its heartbeat (approvals.live.consumers) stays as the
safety net for sessions that end any other way (expiry, a flushed session table)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save

from approvals.live.broadcast import sign_out


def _signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None and user.pk is not None:
        sign_out(user.pk)


def _saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created and not instance.is_active:
        sign_out(instance.pk)


def connect() -> None:
    user_logged_out.connect(_signed_out, dispatch_uid="approvals.live.signed_out")
    post_save.connect(_saved, sender=get_user_model(), dispatch_uid="approvals.live.deactivated")
