"""The seed's ``cache.set("token:{id}:status", …)`` completes tokens (README.md, "The approval
contract")."""

from __future__ import annotations

import re

import pytest

from approvals.trigger import TriggerClient, ValidationError

from .scripted_server import ScriptedServer, json_reply

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_completed_sends_the_payload_marked_approved(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply({"success": True}))
    payload = {"approvedBy": "r@example.com", "comments": "ok", "approvedAt": "2025-08-01T10:00Z"}
    trigger.cache.set("token:waitpoint_abc:status", {"status": "completed", "payload": payload})
    request = server.requests[0]
    assert request.path == "/api/v1/waitpoints/tokens/waitpoint_abc/complete"
    assert request.json() == {"data": {**payload, "approved": True, "decision": "approved"}}


def test_completed_keeps_decision_fields_already_present(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply({"success": True}))
    payload = {"approved": True, "decision": "approved", "extra": 1}
    trigger.cache.set("token:waitpoint_abc:status", {"status": "completed", "payload": payload})
    assert server.requests[0].json() == {"data": payload}


def test_failed_sends_a_rejection_envelope(server: ScriptedServer, trigger: TriggerClient) -> None:
    server.add(json_reply({"success": True}))
    trigger.cache.set(
        "token:waitpoint_abc:status",
        {"status": "failed", "error": "Budget exceeded", "rejectedBy": "r@example.com"},
    )
    data = server.requests[0].json()["data"]
    assert ISO_MS.match(data.pop("rejectedAt"))
    assert data == {
        "approved": False,
        "decision": "rejected",
        "reason": "Budget exceeded",
        "rejectedBy": "r@example.com",
    }


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("run:abc", {"status": "completed"}, "unsupported cache key"),
        ("token:abc", {"status": "completed"}, "unsupported cache key"),
        ("token:abc:status", {"status": "pending"}, "unsupported status"),
        ("token:abc:status", "completed", "must be an object"),
    ],
)
def test_unknown_keys_and_statuses_are_refused_locally(
    server: ScriptedServer, trigger: TriggerClient, key: str, value: object, needle: str
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        trigger.cache.set(key, value)
    assert needle in str(excinfo.value)
    assert server.requests == []


async def test_async_cache_set(server: ScriptedServer, aclient: object) -> None:
    from approvals.trigger import AsyncTriggerClient

    assert isinstance(aclient, AsyncTriggerClient)
    server.add(json_reply({"success": True}))
    await aclient.cache.set("token:waitpoint_z:status", {"status": "failed", "error": "no"})
    assert server.requests[0].json()["data"]["reason"] == "no"
