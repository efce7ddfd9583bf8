"""``python -m approvals.sandbox`` (and ``manage.py trigger_sandbox``): serve the sandbox.

No Django here: the sandbox needs none of the dashboard's settings, so serving it must not
need the dashboard's production secret either. ``manage.py`` hands ``trigger_sandbox`` to
``main`` before Django's settings are loaded.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from approvals.sandbox import DEFAULT_SECRET_KEY, serve

DESCRIPTION = (
    "Serve the Trigger.dev v4 sandbox on 127.0.0.1. It accepts the secret key in "
    f"TRIGGER_SECRET_KEY, or {DEFAULT_SECRET_KEY} when that is unset."
)


def parser(prog: str = "trigger_sandbox") -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    commands.add_argument("--port", type=int, default=8787)
    commands.add_argument("--scenario", choices=["demo", "empty"], default="demo")
    commands.add_argument("--seed", type=int, default=1)
    commands.add_argument(
        "--status-mode",
        choices=["v4", "delayed", "executing"],
        default="v4",
        help="How waiting runs report their status: v4 (WAITING/FROZEN), delayed (the "
        "seed's assumption) or executing (Trigger.dev's dev environment).",
    )
    return commands


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)
    key = os.environ.get("TRIGGER_SECRET_KEY") or DEFAULT_SECRET_KEY
    print(
        f"Trigger.dev sandbox on http://127.0.0.1:{options.port} "
        f"(scenario {options.scenario}, seed {options.seed})",
        flush=True,
    )
    serve(
        host="127.0.0.1",
        port=options.port,
        secret_key=key,
        scenario=options.scenario,
        seed=options.seed,
        status_mode=options.status_mode,
    )
    return 0
