"""A "not found" on the look that follows a successful complete is a failed look, not a gone
token: Trigger.dev holds our verdict, so the decision is retried, never marked gone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.utils import timezone

from approvals import decisions
from approvals.decisions import decide, deliver_due
from approvals.models import Approval, ApprovalState, DeliveryState
from approvals.trigger import RetryPolicy, TriggerClient
from tests.factories import approval_for_sandbox_run

pytestmark = pytest.mark.django_db(transaction=True)


class LookAnswers404AfterComplete(httpx.BaseTransport):
    """A lagging proxy in front of the sandbox: the first retrieve after a complete is 404."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.completed = False
        self.refused = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/complete"):
            self.completed = True
        elif self.completed and request.method == "GET" and not self.refused:
            self.refused += 1
            return httpx.Response(404, json={"error": "Waitpoint not found"})
        return self.inner.handle_request(request)


def test_a_404_right_after_complete_leaves_the_decision_pending_then_it_is_delivered(
    live_sandbox: Any, reviewer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)
    lagging = LookAnswers404AfterComplete()
    monkeypatch.setattr(
        decisions,
        "delivery_client",
        lambda: TriggerClient(
            secret_key=live_sandbox.secret_key,
            base_url=live_sandbox.url,
            retry=RetryPolicy(max_attempts=1),
            transport=lagging,
        ),
    )

    result = decide(token_id=ids["tokenId"], actor=reviewer, verdict="approve")

    assert lagging.refused == 1
    assert result.delivery == DeliveryState.PENDING
    assert Approval.objects.get(token_id=ids["tokenId"]).state == ApprovalState.DECIDED

    assert deliver_due(now=timezone.now() + timedelta(hours=1)) == 1
    assert result.decision is not None
    result.decision.refresh_from_db()
    assert result.decision.delivery_state == DeliveryState.DELIVERED
