"""Page views make zero calls to Trigger.dev: they read the read model (docs/design.md, "The sync
worker")."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tests.factories import approval_for_sandbox_run, make_approval
from tests.pages.conftest import HTMX


def test_the_queue_detail_and_history_pages_make_no_upstream_calls(
    rita: Client, live_sandbox: Any
) -> None:
    approval = approval_for_sandbox_run(live_sandbox.start_run())
    for _ in range(30):
        make_approval()
    before = live_sandbox.stats()["total"]
    for path in ("/", "/?page=2&q=deploy", f"/approvals/{approval.token_id}/", "/history/"):
        assert rita.get(path).status_code == 200
        assert rita.get(path, **HTMX).status_code == 200
    assert live_sandbox.stats()["total"] == before
