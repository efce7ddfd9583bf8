"""50 reviewers press approve or reject on the same token at the same moment, through the
JSON API of a real threaded server, on PostgreSQL: one decision wins, the other 49 hear "already
decided", and exactly one completion reaches Trigger.dev."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection

from approvals.models import ApiToken, Decision, Vote
from tests.decisions.helpers import completions, finished_run, reviewer_named
from tests.factories import approval_for_sandbox_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.slow]

REVIEWERS = 50


def test_fifty_simultaneous_decisions_yield_exactly_one(api_server, live_sandbox):
    assert connection.vendor == "postgresql"
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)
    tokens = [ApiToken.issue(user=reviewer_named(f"reviewer{i:02d}"))[1] for i in range(REVIEWERS)]
    start = threading.Barrier(REVIEWERS)

    def press(i: int) -> httpx.Response:
        if i % 2:
            verdict, body = "approve", {"comments": f"ok {i}"}
        else:
            verdict, body = "reject", {"reason": f"no {i}"}
        with httpx.Client(base_url=api_server, timeout=60) as http:
            start.wait(timeout=30)
            return http.post(
                f"/api/approvals/{ids['tokenId']}/{verdict}",
                json=body,
                headers={"Authorization": f"Bearer {tokens[i]}"},
            )

    with ThreadPoolExecutor(max_workers=REVIEWERS) as pool:
        responses = list(pool.map(press, range(REVIEWERS)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (REVIEWERS - 1)
    losers = [r.json() for r in responses if r.status_code == 409]
    assert all(body["code"] == "already_decided" for body in losers)
    assert all(body["message"].startswith("already decided by reviewer") for body in losers)
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert winner["delivery"] == "delivered", Decision.objects.get().last_error
    decision = Decision.objects.get()
    assert Vote.objects.count() == 1
    assert completions(live_sandbox) == 1
    run = finished_run(live_sandbox, ids["runId"])
    assert run["output"]["decision"] == decision.envelope == winner["output"]
