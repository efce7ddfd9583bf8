"""Keeping the read model current: the reconcile pass (``reconcile``), the realtime tag feed
(``follower``), the leader lock between workers (``leader``) and the worker loop (``worker``).

The reconcile's public names are re-exported here, so ``from approvals.sync import sync_once``
reads as before the package existed. The worker is imported as ``approvals.sync.worker``: it
needs the decision service, which this package must not pull in for every reader.
"""

from __future__ import annotations

from approvals.sync.reconcile import (
    DESCRIPTION_MAX,
    JSON_MAX_CHARS,
    JSON_MAX_DEPTH,
    NOTE_NON_FINITE,
    NOTE_TEXT,
    NOTE_TOO_DEEP,
    NOTE_TOO_LARGE,
    REQUESTED_BY_MAX,
    SYNC_RETRY,
    TOO_DEEP_MARKER,
    RunChange,
    SyncReport,
    apply_run_change,
    approval_fields,
    capped_json,
    clean_json,
    clean_text,
    sync_once,
)

__all__ = [
    "DESCRIPTION_MAX",
    "JSON_MAX_CHARS",
    "JSON_MAX_DEPTH",
    "NOTE_NON_FINITE",
    "NOTE_TEXT",
    "NOTE_TOO_DEEP",
    "NOTE_TOO_LARGE",
    "REQUESTED_BY_MAX",
    "SYNC_RETRY",
    "TOO_DEEP_MARKER",
    "RunChange",
    "SyncReport",
    "apply_run_change",
    "approval_fields",
    "capped_json",
    "clean_json",
    "clean_text",
    "sync_once",
]
