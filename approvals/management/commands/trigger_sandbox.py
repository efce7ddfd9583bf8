"""``manage.py trigger_sandbox``: the sandbox's own command line (approvals.sandbox.cli).

``manage.py`` normally hands this command to the sandbox before Django starts (so it needs no
dashboard settings); this class keeps it listed in ``manage.py help`` and callable through
``call_command``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from approvals.sandbox import cli


class Command(BaseCommand):
    help = cli.DESCRIPTION
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        for action in cli.parser()._actions:
            if action.option_strings and action.dest != "help":
                parser.add_argument(
                    *action.option_strings,
                    type=action.type,  # type: ignore[arg-type]
                    default=action.default,
                    choices=action.choices,
                    help=action.help,
                )

    def handle(self, *args: Any, **options: Any) -> None:
        argv: list[str] = []
        for name in ("port", "scenario", "seed", "status_mode"):
            argv += [f"--{name.replace('_', '-')}", str(options[name])]
        cli.main(argv)
