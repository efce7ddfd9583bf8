"""The seed's ``cache.set("token:{id}:status", …)`` surface, mapped onto the real API
(docs/seed.md).

There is no cache or KV API on the Trigger.dev server (docs/trigger-v4.md, "No cache API"). A
``completed`` value completes the token with its payload; a ``failed`` value completes it with a
rejection envelope, since there is no fail endpoint either (README.md, "The approval
contract"). This module only translates; the clients send.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from .errors import ValidationError

__all__ = ["cache_set_to_completion", "iso_now", "parse_token_key"]

_KEY = re.compile(r"^token:(?P<id>[^:\s]+):status$")
DEFAULT_REJECTION_REASON = "Rejected by reviewer"


def iso_now() -> str:
    """Now, formatted like JavaScript's ``Date.toISOString()``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_token_key(key: str) -> str:
    """``token:{id}:status`` -> ``id``; anything else is a ``ValidationError``."""
    match = _KEY.match(key) if isinstance(key, str) else None
    if match is None:
        raise ValidationError(
            f"unsupported cache key {key!r}: only 'token:<tokenId>:status' is supported "
            "(there is no cache API on Trigger.dev; this key completes a waitpoint token)"
        )
    return match.group("id")


def cache_set_to_completion(
    key: str, value: Any, *, now: Callable[[], str] = iso_now
) -> tuple[str, Any]:
    """Translate a seed ``cache.set`` into ``(token_id, data to complete the token with)``.

    - ``{"status": "completed", "payload": {...}}``: the payload as is, plus
      ``approved: True`` and ``decision: "approved"`` when they are missing;
    - ``{"status": "failed", "error": "reason"}``: ``{"approved": False, "decision":
      "rejected", "reason": …, "rejectedAt": <now>}`` (+ ``rejectedBy`` when given).
    """
    token_id = parse_token_key(key)
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"cache value for {key!r} must be an object with a 'status', got {type(value).__name__}"
        )
    status = value.get("status")
    if status == "completed":
        payload = value.get("payload")
        if payload is None:
            payload = {}
        if isinstance(payload, Mapping):
            payload = dict(payload)
            payload.setdefault("approved", True)
            payload.setdefault("decision", "approved")
        return token_id, payload
    if status == "failed":
        reason = value.get("error") or DEFAULT_REJECTION_REASON
        if not isinstance(reason, str):
            raise ValidationError(f"'error' of a failed cache value must be a string: {key!r}")
        envelope: dict[str, Any] = {
            "approved": False,
            "decision": "rejected",
            "reason": reason,
            "rejectedAt": now(),
        }
        if value.get("rejectedBy") is not None:
            envelope["rejectedBy"] = value["rejectedBy"]
        return token_id, envelope
    raise ValidationError(
        f"unsupported status {status!r} for {key!r}: use 'completed' (with a payload) or 'failed'"
        " (with an error)"
    )
