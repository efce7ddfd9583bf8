"""Reading the approval contract (README, "The approval contract") off Trigger.dev records.

A task tags its token ``run:<run id>`` (the public API cannot tell which run a token blocks)
and announces each token in the run's metadata under ``waitTokens``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from approvals.trigger import Run

RUN_TAG_PREFIX = "run:"


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
