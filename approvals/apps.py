from __future__ import annotations

from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the system checks (approvals.E001 ...).
        from approvals import changes, checks  # noqa: F401
        from approvals.auth import checks as sso_checks  # noqa: F401
        from approvals.events import subscribe
        from approvals.live import signals as live_signals
        from approvals.live.broadcast import broadcast
        from approvals.notify import checks as notify_checks  # noqa: F401
        from approvals.notify.occurrences import on_event as notifications

        # The change events' subscribers (docs/live-updates.md, "Events"): live pages, and
        # notifications (docs/notifications.md).
        subscribe(broadcast)
        subscribe(notifications)
        # Kept queue pages know when policies, people or rights change (approvals.changes).
        changes.connect()
        # Signing out, or being deactivated, closes the user's sockets at once.
        live_signals.connect()
