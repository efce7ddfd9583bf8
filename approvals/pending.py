"""Pending approvals read straight from Trigger.dev.

A run is pending when it carries the approval tag, is in one of the awaiting statuses, and
one of its tokens (tagged with the approval tag and ``run:<id>``) is still WAITING. The
token's description comes from the run's metadata (``waitTokens``), as the approval
contract in the README describes.

Two paginated list calls per read, whatever the number of runs: the seed read every run's
stream one after another instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from approvals.trigger import Run, TriggerClient, WaitpointToken

RUN_TAG_PREFIX = "run:"


@dataclass(frozen=True)
class PendingApproval:
    run: Run
    token: WaitpointToken
    announcement: dict[str, Any] = field(default_factory=dict)

    @property
    def description(self) -> str:
        value = self.announcement.get("description")
        return value if isinstance(value, str) and value else "Approval required"

    @property
    def requested_by(self) -> str | None:
        value = self.announcement.get("requestedBy")
        return value if isinstance(value, str) else None

    @property
    def expires_at(self) -> datetime | None:
        return self.token.timeout_at


def run_id_from_tags(tags: Iterable[str]) -> str | None:
    for tag in tags:
        if tag.startswith(RUN_TAG_PREFIX) and len(tag) > len(RUN_TAG_PREFIX):
            return tag[len(RUN_TAG_PREFIX) :]
    return None


def announcements(run: Run) -> dict[str, dict[str, Any]]:
    """The run's ``metadata.waitTokens`` records by token id; malformed entries are skipped."""
    records = run.metadata.get("waitTokens") if isinstance(run.metadata, dict) else None
    if not isinstance(records, list):
        return {}
    return {
        record["id"]: record
        for record in records
        if isinstance(record, dict) and isinstance(record.get("id"), str)
    }


def pending_approvals(
    client: TriggerClient, *, tag: str, awaiting_statuses: list[str]
) -> list[PendingApproval]:
    runs = {
        run.id: run for run in client.runs.list(status=awaiting_statuses, tags=[tag], period="30d")
    }
    pending: list[PendingApproval] = []
    for token in client.waitpoints.list(status=["WAITING"], tags=[tag]):
        # The list's status filter has quirks (trigger-v4-api.md §4.2): filter again here.
        if token.status != "WAITING":
            continue
        run_id = run_id_from_tags(token.tags)
        run = runs.get(run_id) if run_id else None
        if run is None:
            continue
        pending.append(
            PendingApproval(run=run, token=token, announcement=announcements(run).get(token.id, {}))
        )
    pending.sort(
        key=lambda item: (item.expires_at is None, item.expires_at or item.token.created_at)
    )
    return pending
