"""The client and the sandbox each carry the server's run-status tables (neither may import
the other). They must say the same thing, or the client would be tested against a sandbox
that disagrees with it (docs/trigger-v4.md, "Run statuses")."""

from __future__ import annotations

import pytest

from approvals.sandbox import statuses as sandbox
from approvals.trigger import statuses as client


@pytest.mark.parametrize("db_status", sorted(sandbox.DB_STATUSES))
def test_both_map_each_database_status_to_the_same_api_status(db_status: str) -> None:
    current = sandbox.api_status(db_status, sandbox.CURRENT_API_VERSION)
    legacy = sandbox.api_status(db_status, None)

    assert client.api_status_from_db_status(db_status) == current
    assert client.legacy_api_status_from_db_status(db_status) == legacy


def test_every_status_the_sandbox_reports_is_one_the_client_knows() -> None:
    reported = {sandbox.api_status(s, sandbox.CURRENT_API_VERSION) for s in sandbox.DB_STATUSES}

    assert reported <= client.API_STATUSES
