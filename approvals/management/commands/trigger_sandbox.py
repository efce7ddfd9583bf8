from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from approvals.sandbox import DEFAULT_SECRET_KEY, serve


class Command(BaseCommand):
    help = (
        "Serve the Trigger.dev v4 sandbox on 127.0.0.1. It accepts the secret key in "
        f"TRIGGER_SECRET_KEY, or {DEFAULT_SECRET_KEY} when that is unset."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8787)
        parser.add_argument("--scenario", choices=["demo", "empty"], default="demo")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--status-mode",
            choices=["v4", "delayed", "executing"],
            default="v4",
            help="How waiting runs report their status: v4 (WAITING/FROZEN), delayed (the "
            "seed's assumption) or executing (Trigger.dev's dev environment).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        key = os.environ.get("TRIGGER_SECRET_KEY") or DEFAULT_SECRET_KEY
        self.stdout.write(
            f"Trigger.dev sandbox on http://127.0.0.1:{options['port']} "
            f"(scenario {options['scenario']}, seed {options['seed']})"
        )
        serve(
            host="127.0.0.1",
            port=options["port"],
            secret_key=key,
            scenario=options["scenario"],
            seed=options["seed"],
            status_mode=options["status_mode"],
        )
