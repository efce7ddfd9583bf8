from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import ApprovalState
from tests.factories import make_approval

pytestmark = pytest.mark.django_db


def test_lists_pending_approvals_in_the_seed_shape_without_calling_upstream(api, live_sandbox):
    soon = make_approval(
        description="Deploy <b>billing</b>", expires_at=timezone.now() + timedelta(minutes=5)
    )
    later = make_approval(expires_at=timezone.now() + timedelta(hours=5))
    make_approval(state=ApprovalState.DECIDED)
    make_approval(expires_at=timezone.now() - timedelta(minutes=1))
    before = live_sandbox.stats()["total"]

    response = api.get("/api/approvals")

    assert response.status_code == 200
    approvals = response.json()["approvals"]
    assert [a["tokenId"] for a in approvals] == [soon.token_id, later.token_id]
    first = approvals[0]
    assert first["runId"] == soon.run_id
    assert first["description"] == "Deploy <b>billing</b>"
    assert first["createdAt"].endswith("Z")
    assert first["expiresAt"].endswith("Z")
    assert first["task"] == "deploy-production"
    assert first["runStatus"] == "WAITING"
    assert first["requestedBy"] == "dev@example.com"
    assert first["tags"] == ["needs-approval"]
    assert live_sandbox.stats()["total"] == before


def test_filters_by_task_and_tag_and_limits(api):
    make_approval(task_identifier="billing-refund", run_tags=["needs-approval", "pci"])
    make_approval(task_identifier="deploy-production")

    assert len(api.get("/api/approvals?task=billing-refund").json()["approvals"]) == 1
    assert len(api.get("/api/approvals?tag=pci").json()["approvals"]) == 1
    limited = api.get("/api/approvals?limit=1").json()
    assert len(limited["approvals"]) == 1
    assert limited["hasMore"] is True
    assert api.get("/api/approvals?limit=zero").status_code == 400
