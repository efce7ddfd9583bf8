from __future__ import annotations

import pytest

from approvals.models import Decision
from tests.decisions.helpers import finished_run, make_policy
from tests.factories import approval_for_sandbox_run, make_approval

pytestmark = pytest.mark.django_db(transaction=True)


def test_approve_delivers_as_the_token_owner(api, live_sandbox):
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)

    response = api.post(f"/api/approvals/{ids['tokenId']}/approve", {"comments": "Ship it"})

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "Approved: Trigger.dev has resumed the run."
    assert body["decision"] == "approved"
    assert body["delivery"] == "delivered"
    assert body["output"]["approvedBy"] == "rita@example.com"
    assert body["output"]["comments"] == "Ship it"
    run = finished_run(live_sandbox, ids["runId"])
    assert run["output"] == {"status": "approved", "decision": body["output"]}


def test_reject_delivers_the_reason(api, live_sandbox):
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)

    response = api.post(f"/api/approvals/{ids['tokenId']}/reject", {"reason": "Too risky"})

    assert response.status_code == 200
    assert response.json()["output"]["reason"] == "Too risky"
    assert finished_run(live_sandbox, ids["runId"])["output"]["status"] == "rejected"


def test_second_decision_is_409_already_decided(api, live_sandbox):
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)
    api.post(f"/api/approvals/{ids['tokenId']}/approve")

    response = api.post(f"/api/approvals/{ids['tokenId']}/reject", {"reason": "wait"})

    assert response.status_code == 409
    body = response.json()
    assert body["success"] is False
    assert body["code"] == "already_decided"
    assert body["message"].startswith("already decided by rita@example.com at ")


def test_unreachable_upstream_is_200_with_pending_delivery(api, live_sandbox, settings):
    settings.APPROVAL_DELIVERY_TIMEOUT_SECONDS = 0.3
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)
    live_sandbox.faults(errorRate=1.0)

    response = api.post(f"/api/approvals/{ids['tokenId']}/approve")

    assert response.status_code == 200
    assert response.json()["delivery"] == "pending"
    assert "your decision is saved and will be delivered" in response.json()["message"]
    assert Decision.objects.get().delivery_state == "pending"


def test_token_gone_is_reported_as_409(api, live_sandbox):
    make_approval(token_id="waitpoint_vanished")

    response = api.post("/api/approvals/waitpoint_vanished/approve")

    assert response.status_code == 409
    assert response.json()["code"] == "token_gone"


def test_n_of_m_first_approval_is_awaiting_more(api, live_sandbox):
    make_policy(approvals_required=2)
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)

    response = api.post(f"/api/approvals/{ids['tokenId']}/approve")

    assert response.status_code == 200
    assert response.json()["decision"] is None
    assert response.json()["delivery"] == "awaiting_more_approvals"
