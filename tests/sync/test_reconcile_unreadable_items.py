"""An upstream list with an unreadable record: the rest is synced, and nothing is closed on
the strength of a listing that was not complete."""

from __future__ import annotations

import json
from typing import Any

import httpx

from approvals.models import Approval, ApprovalState
from approvals.sync import sync_once
from approvals.trigger import RetryPolicy, TriggerClient


class CorruptTokenInLists(httpx.BaseTransport):
    """A misbehaving proxy in front of the real (sandbox) server: in token lists, the record of
    one token loses its required ``url``."""

    def __init__(self, token_id: str) -> None:
        self.token_id = token_id
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path != "/api/v1/waitpoints/tokens":
            return response
        body = json.loads(response.read())
        for item in body["data"]:
            if item["id"] == self.token_id:
                item["url"] = None
        return httpx.Response(
            response.status_code, headers={"content-type": "application/json"}, json=body
        )


def test_an_unreadable_listed_token_closes_nothing_and_the_rest_syncs(
    db: None, live_sandbox: Any, trigger: TriggerClient
) -> None:
    first = live_sandbox.start_run(description="already known")
    sync_once(client=trigger)
    later = live_sandbox.start_run(description="new this pass")

    with TriggerClient(
        secret_key=live_sandbox.secret_key,
        base_url=live_sandbox.url,
        retry=RetryPolicy(max_attempts=1),
        transport=CorruptTokenInLists(first["tokenId"]),
    ) as corrupting:
        report = sync_once(client=corrupting)

    assert report.ok and report.skipped >= 1
    assert Approval.objects.get(token_id=first["tokenId"]).state == ApprovalState.PENDING
    assert Approval.objects.get(token_id=later["tokenId"]).state == ApprovalState.PENDING


class CorruptToken(CorruptTokenInLists):
    """Also breaks the token's own record when it is retrieved."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/api/v1/waitpoints/tokens/{self.token_id}":
            self.inner.handle_request(request).read()
            return httpx.Response(200, json={"id": self.token_id, "status": 42})
        return super().handle_request(request)


def test_a_token_unreadable_everywhere_stays_as_it_was(
    db: None, live_sandbox: Any, trigger: TriggerClient
) -> None:
    known = live_sandbox.start_run()
    sync_once(client=trigger)
    other = live_sandbox.start_run()
    with TriggerClient(
        secret_key=live_sandbox.secret_key,
        base_url=live_sandbox.url,
        retry=RetryPolicy(max_attempts=1),
        transport=CorruptToken(known["tokenId"]),
    ) as corrupting:
        report = sync_once(client=corrupting)
    assert report.ok
    assert Approval.objects.get(token_id=known["tokenId"]).state == ApprovalState.PENDING
    assert Approval.objects.filter(token_id=other["tokenId"]).exists()
