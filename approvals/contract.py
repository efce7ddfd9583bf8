"""Reading the approval contract (README, "The approval contract") off Trigger.dev records.

A task tags its token ``run:<run id>`` (the public API cannot tell which run a token blocks)
and announces each token in the run's metadata under ``waitTokens``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from approvals.trigger import Run

RUN_TAG_PREFIX = "run:"

# Trigger.dev ids are "<entity>_<cuid>" (run_…, waitpoint_…): letters, digits and "_"
# (docs/trigger-v4.md, "Ids"). "-" is tolerated. Anything else (NUL, "/", "?", "#", "..")
# is not an id Trigger.dev made: such a record is skipped, since its id would end up in URLs
# and database keys.
ID_MAX = 100
_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{ID_MAX}}}")


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def run_id_from_tags(tags: Iterable[str]) -> str | None:
    """The run a token blocks, from its ``run:<id>`` tag. ``None`` when no tag names a valid
    run id, or when tags name two different runs: such a token cannot be joined to a run
    safely, so it is not shown (a task could otherwise dress another run's token)."""
    named = {
        tag[len(RUN_TAG_PREFIX) :]
        for tag in tags
        if isinstance(tag, str) and tag.startswith(RUN_TAG_PREFIX)
    }
    if len(named) != 1:
        return None
    (run_id,) = named
    return run_id if is_valid_id(run_id) else None


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
