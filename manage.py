#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

from __future__ import annotations

import os
import sys


def main() -> None:
    if sys.argv[1:2] == ["trigger_sandbox"]:
        # The sandbox is Django-free: serve it without loading the dashboard's settings,
        # which would ask for a production secret when TRIGGER_SECRET_KEY is set.
        from approvals.sandbox.cli import main as sandbox_main

        sys.exit(sandbox_main(sys.argv[2:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "approvals_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
