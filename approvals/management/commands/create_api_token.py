"""``python manage.py create_api_token USERNAME [--name NAME]``: print a new API token.

The raw token is printed once, on stdout alone (so ``TOKEN=$(…)`` works); only its hash is
stored. Revoke it in the admin.

The token records no issuing user (``issued_by`` null) and names its issuer "command line"
(``issuer_name``): whoever runs manage.py on the server acts as the operator, who can read and
write the database anyway, so there is no account to hold to it, and an ``--issued-by`` option
would only record what the operator chose to type. Decisions made with such a token are
flagged in the audit log as made through a token the actor did not issue.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from approvals.models import ApiToken


class Command(BaseCommand):
    help = "Create a JSON API token for USERNAME and print it (shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for, e.g. 'chat bot'")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: options["username"]})
        except User.DoesNotExist:
            raise CommandError(f"No user named {options['username']!r}.") from None
        if not user.is_active:
            raise CommandError(f"User {options['username']!r} is inactive.")
        token, raw = ApiToken.issue(user=user, name=options["name"])
        self.stderr.write(
            f"API token {token.hint}… for {user}, issued from the command line (shown once;"
            " store it now, it cannot be recovered):"
        )
        self.stdout.write(raw)
