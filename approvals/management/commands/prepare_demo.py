from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from approvals.auth.demo import demo_accounts, ensure_demo_reviewers
from approvals.demo.earlier_worlds import forget_untouched_pending
from approvals.demo.history import HistoryError, record_history
from approvals.demo.policies import ensure_demo_policies


class Command(BaseCommand):
    help = (
        "With the embedded sandbox: create the two demo reviewers, forget the untouched pending"
        " approvals of the previous boot's sandbox world and, with the demo scenario, create the"
        " demo policies and a little history. Safe to run at every start. With a real"
        " Trigger.dev: disable the demo reviewers, nothing else."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not ensure_demo_reviewers():
            self.stdout.write("Real Trigger.dev configured: the demo reviewers are disabled.")
            return
        if settings.SSO_ENABLED:
            # They exist, but single sign-on turns password sign-in off (approvals.auth.passwords).
            self.stdout.write(
                "Single sign-on configured: sign in through it"
                " (the demo reviewers' passwords are off)."
            )
        else:
            for account in demo_accounts():
                self.stdout.write(f"Demo reviewer: {account.username} / {account.password}")
        forgotten = forget_untouched_pending()
        if forgotten:
            self.stdout.write(
                f"Forgot {forgotten} pending approval(s) of the previous sandbox world."
            )
        if (settings.TRIGGER_SANDBOX_SCENARIO or "demo") != "demo":
            return  # the "empty" scenario asks for no demo data
        for name in ensure_demo_policies():
            self.stdout.write(f"Demo policy created: {name}")
        try:
            recorded = record_history()
        except HistoryError as exc:
            raise CommandError(f"Could not record the demo history: {exc}") from exc
        if recorded:
            self.stdout.write(f"Demo history recorded: {', '.join(recorded)}.")
