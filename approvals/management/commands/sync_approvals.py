from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from approvals.sync.worker import run_pass, run_worker


class Command(BaseCommand):
    help = (
        "Keep the approvals read model in sync with Trigger.dev: reconcile every "
        "SYNC_INTERVAL_SECONDS, follow the realtime tag feed and retry pending deliveries. "
        "Several may run; one leads (a PostgreSQL advisory lock), the others stand by."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")
        parser.add_argument("--interval", type=float, default=None, help="Seconds between passes.")
        parser.add_argument(
            "--no-realtime", action="store_true", help="Reconcile only; do not follow the feed."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options["interval"]
        if interval is not None and interval <= 0:
            self.stderr.write("--interval must be a positive number of seconds")
            raise SystemExit(2)
        if options["once"]:
            report, delivered = run_pass()
            if report is None:
                raise SystemExit(1)
            tail = "" if delivered is None else f" delivered={delivered}"
            self.stdout.write(f"sync: {report.summary()}{tail}")
            if not report.ok:
                raise SystemExit(1)
            return
        stop = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            run_worker(interval=interval, stop=stop, realtime=not options["no_realtime"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("sync: stopped")
