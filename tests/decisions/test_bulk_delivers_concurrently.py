"""A bulk action answers once its decisions are recorded, and delivers them concurrently:
twenty tokens behind a slow Trigger.dev no longer take twenty round trips in a row."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from approvals import decisions
from approvals.decisions import DecisionResult, decide_many
from approvals.models import Decision, DeliveryState
from approvals.trigger import RetryPolicy, TriggerClient
from tests.factories import approval_for_sandbox_run
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


class CountsCompletesInFlight(httpx.BaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_at_once = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        completing = request.url.path.endswith("/complete")
        if completing:
            with self.lock:
                self.in_flight += 1
                self.most_at_once = max(self.most_at_once, self.in_flight)
        try:
            return self.inner.handle_request(request)
        finally:
            if completing:
                with self.lock:
                    self.in_flight -= 1


def _counting_client(live_sandbox: Any, transport: httpx.BaseTransport) -> Any:
    return lambda: TriggerClient(
        secret_key=live_sandbox.secret_key,
        base_url=live_sandbox.url,
        retry=RetryPolicy(max_attempts=1),
        transport=transport,
    )


def _pending_runs(live_sandbox: Any, n: int) -> list[str]:
    tokens = []
    for _ in range(n):
        ids = live_sandbox.start_run()
        approval_for_sandbox_run(ids)
        tokens.append(ids["tokenId"])
    return tokens


@pytest.mark.postgres  # SQLite has one writer: there deliveries run one after another
def test_bulk_deliveries_overlap(
    live_sandbox: Any, reviewer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = _pending_runs(live_sandbox, 6)
    counting = CountsCompletesInFlight()
    monkeypatch.setattr(decisions, "delivery_client", _counting_client(live_sandbox, counting))
    live_sandbox.faults(latencyMs=200)

    outcomes = decide_many(token_ids=tokens, actor=reviewer, verdict="approve")

    assert [r.delivery for _, r in outcomes if isinstance(r, DecisionResult)] == [
        DeliveryState.DELIVERED
    ] * 6
    assert counting.most_at_once > 1


def test_bulk_answers_once_recorded_and_delivers_in_the_background(
    live_sandbox: Any, reviewer: Any, settings: Any
) -> None:
    tokens = _pending_runs(live_sandbox, 3)
    settings.APPROVAL_BULK_WAIT_SECONDS = 0.05
    live_sandbox.faults(latencyMs=500)

    outcomes = decide_many(token_ids=tokens, actor=reviewer, verdict="reject", comment="freeze")

    lines = [result for _, result in outcomes]
    assert all(isinstance(r, DecisionResult) for r in lines)
    assert any("under way" in r.message for r in lines if isinstance(r, DecisionResult))
    assert Decision.objects.count() == 3  # all recorded before the answer
    wait_until(
        lambda: Decision.objects.filter(delivery_state=DeliveryState.DELIVERED).count() == 3,
        timeout=30,
    )
