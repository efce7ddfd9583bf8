"""Answers shaped like the real server's (docs/trigger-v4.md, "Runs" and "Waitpoint tokens")."""

from __future__ import annotations

from typing import Any


def run_json(run_id: str = "run_abc", **overrides: Any) -> dict[str, Any]:
    run: dict[str, Any] = {
        "id": run_id,
        "status": "WAITING",
        "taskIdentifier": "approve-invoice",
        "version": "20250801.3",
        "createdAt": "2025-08-01T10:00:00.000Z",
        "updatedAt": "2025-08-01T10:00:05.000Z",
        "startedAt": "2025-08-01T10:00:01.000Z",
        "isTest": False,
        "ttl": "14d",
        "tags": ["invoice:42", "needs-approval"],
        "metadata": {"approvalTokenId": "waitpoint_x"},
        "costInCents": 0.01,
        "isWaiting": True,
    }
    run.update(overrides)
    return run


def token_json(token_id: str = "waitpoint_abc", **overrides: Any) -> dict[str, Any]:
    token: dict[str, Any] = {
        "id": token_id,
        "url": f"https://api.trigger.dev/api/v1/waitpoints/tokens/{token_id}/callback/5f3c",
        "status": "WAITING",
        "timeoutAt": "2025-08-02T10:00:00.000Z",
        "completedAfter": "2025-08-02T10:00:00.000Z",
        "tags": ["needs-approval"],
        "createdAt": "2025-08-01T10:00:00.000Z",
    }
    token.update(overrides)
    return token


def page(items: list[dict[str, Any]], next_cursor: str | None = None) -> dict[str, Any]:
    pagination: dict[str, Any] = {}
    if next_cursor is not None:
        pagination["next"] = next_cursor
    return {"data": items, "pagination": pagination}
