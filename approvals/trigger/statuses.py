"""Run status vocabularies (docs/trigger-v4.md, "Run statuses").

The REST API answers with an *API* status, whose spelling depends on the
``x-trigger-api-version`` header (this client always sends ``2025-07-16``, the "V2" mapping).
The realtime feeds carry the raw *database* status, which must be mapped here.
"""

from __future__ import annotations

__all__ = [
    "API_STATUSES",
    "FINAL_STATUSES",
    "api_status_from_db_status",
    "legacy_api_status_from_db_status",
    "sdk_realtime_status",
]

#: The v4 ``RunStatus`` enum (with the API-version header).
API_STATUSES: frozenset[str] = frozenset(
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
    }
)

#: API statuses after which a run never changes again.
FINAL_STATUSES: frozenset[str] = frozenset(
    {"COMPLETED", "CANCELED", "FAILED", "CRASHED", "SYSTEM_FAILURE", "EXPIRED", "TIMED_OUT"}
)

# DB TaskRunStatus -> API status, "V2" mapping (ApiRetrieveRunPresenter.apiStatusFromRunStatusV2,
# identical to the SDK's realtime apiStatusFromRunStatus in runStream.ts).
_DB_TO_API_V2: dict[str, str] = {
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

# Without the API-version header ("V1", legacy).
_DB_TO_API_V1: dict[str, str] = {
    **_DB_TO_API_V2,
    "WAITING_FOR_DEPLOY": "WAITING_FOR_DEPLOY",
    "DEQUEUED": "EXECUTING",
    "RETRYING_AFTER_FAILURE": "REATTEMPTING",
    "WAITING_TO_RESUME": "FROZEN",
    "PAUSED": "FROZEN",
    "INTERRUPTED": "INTERRUPTED",
}


def api_status_from_db_status(status: str) -> str:
    """Map a raw DB status to the V2 API status.

    Values that already are API statuses pass through, and so do unknown values (unlike the
    SDK, which silently turns them into ``QUEUED``): a status we do not know is better shown
    as it is than disguised.
    """
    return _DB_TO_API_V2.get(status, status)


def sdk_realtime_status(status: str) -> str:
    """Exactly the SDK's realtime mapping: anything it does not know becomes ``QUEUED``."""
    return _DB_TO_API_V2.get(status, "QUEUED")


def legacy_api_status_from_db_status(status: str) -> str:
    """The V1 mapping a server uses when the API-version header is missing."""
    return _DB_TO_API_V1.get(status, status)
