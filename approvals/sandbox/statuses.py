"""Run status vocabularies and the mappings between them (docs/trigger-v4.md, "Runs" and "Run
statuses")."""

from __future__ import annotations

# The header value that selects the "current" (V2) status mapping.
CURRENT_API_VERSION = "2025-07-16"

_V2 = {
    "DELAYED": "DELAYED",
    "PENDING_VERSION": "PENDING_VERSION",
    "WAITING_FOR_DEPLOY": "PENDING_VERSION",
    "PENDING": "QUEUED",
    "DEQUEUED": "DEQUEUED",
    "EXECUTING": "EXECUTING",
    "RETRYING_AFTER_FAILURE": "EXECUTING",
    "WAITING_TO_RESUME": "WAITING",
    "PAUSED": "WAITING",
    "COMPLETED_SUCCESSFULLY": "COMPLETED",
    "COMPLETED_WITH_ERRORS": "FAILED",
    "INTERRUPTED": "FAILED",
    "CANCELED": "CANCELED",
    "CRASHED": "CRASHED",
    "SYSTEM_FAILURE": "SYSTEM_FAILURE",
    "EXPIRED": "EXPIRED",
    "TIMED_OUT": "TIMED_OUT",
}

# Legacy mapping, used when the x-trigger-api-version header is missing or different.
_V1 = {
    **_V2,
    "WAITING_FOR_DEPLOY": "WAITING_FOR_DEPLOY",
    "DEQUEUED": "EXECUTING",
    "RETRYING_AFTER_FAILURE": "REATTEMPTING",
    "WAITING_TO_RESUME": "FROZEN",
    "PAUSED": "FROZEN",
    "INTERRUPTED": "INTERRUPTED",
}

DB_STATUSES = frozenset(_V2)

# Values accepted by filter[status]: the v2 RunStatus enum plus the legacy ones.
API_FILTER_STATUSES = frozenset(
    {
        "PENDING_VERSION",
        "QUEUED",
        "DEQUEUED",
        "EXECUTING",
        "WAITING",
        "COMPLETED",
        "CANCELED",
        "FAILED",
        "CRASHED",
        "SYSTEM_FAILURE",
        "DELAYED",
        "EXPIRED",
        "TIMED_OUT",
        "FROZEN",
        "REATTEMPTING",
        "WAITING_FOR_DEPLOY",
        "INTERRUPTED",
    }
)

# ApiRunListPresenter.apiStatusToRunStatuses; every other value maps to itself.
_FILTER_TO_DB = {
    "WAITING": ("WAITING_TO_RESUME",),
    "FROZEN": ("PAUSED", "WAITING_TO_RESUME"),
    "QUEUED": ("PENDING",),
    "REATTEMPTING": ("RETRYING_AFTER_FAILURE",),
    "COMPLETED": ("COMPLETED_SUCCESSFULLY",),
    "FAILED": ("COMPLETED_WITH_ERRORS",),
}


def api_status(db_status: str, api_version: str | None) -> str:
    table = _V2 if api_version == CURRENT_API_VERSION else _V1
    return table.get(db_status, db_status)


def db_statuses_for_filter(api_filter_value: str) -> tuple[str, ...]:
    return _FILTER_TO_DB.get(api_filter_value, (api_filter_value,))


def boolean_helpers(status: str) -> dict[str, bool]:
    """apiBooleanHelpersFromRunStatus: EXPIRED and TIMED_OUT are neither completed nor failed."""
    return {
        "isQueued": status in {"QUEUED", "WAITING_FOR_DEPLOY", "DELAYED", "PENDING_VERSION"},
        "isExecuting": status in {"EXECUTING", "REATTEMPTING", "FROZEN", "DEQUEUED"},
        "isWaiting": status == "WAITING",
        "isCompleted": status
        in {"COMPLETED", "CANCELED", "FAILED", "CRASHED", "INTERRUPTED", "SYSTEM_FAILURE"},
        "isFailed": status in {"FAILED", "CRASHED", "INTERRUPTED", "SYSTEM_FAILURE"},
        "isSuccess": status == "COMPLETED",
        "isCancelled": status == "CANCELED",
    }
