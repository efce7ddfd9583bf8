from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from approvals.auth.demo import ensure_demo_reviewer


class Command(BaseCommand):
    help = (
        "Create the demo reviewer when the embedded sandbox is in use (and disable it otherwise)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if ensure_demo_reviewer():
            user, password = settings.DEMO_REVIEWER_USERNAME, settings.DEMO_REVIEWER_PASSWORD
            self.stdout.write(f"Demo reviewer: {user} / {password}")
        else:
            self.stdout.write("Real Trigger.dev configured: the demo reviewer is disabled.")
