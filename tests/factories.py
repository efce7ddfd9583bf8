"""Small builders for read-model rows, so tests say only what matters to them."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from django.utils import timezone

from approvals.models import Approval, ApprovalState, Decision, DeliveryState

_numbers = itertools.count(1)


def make_approval(**fields: Any) -> Approval:
    """A pending approval; pass ``token_id``/``run_id`` of a real sandbox run to decide it."""
    n = next(_numbers)
    now = timezone.now()
    values: dict[str, Any] = {
        "token_id": f"waitpoint_test{n:06d}",
        "run_id": f"run_test{n:06d}",
        "task_identifier": "deploy-production",
        "run_status": "WAITING",
        "run_tags": ["needs-approval"],
        "token_tags": ["needs-approval", f"run:run_test{n:06d}"],
        "description": f"Deploy service {n} to production",
        "payload": {"service": f"svc-{n}", "version": "1.2.3"},
        "requested_by": "dev@example.com",
        "created_at": now - timedelta(minutes=n),
        "expires_at": now + timedelta(hours=1),
        "state": ApprovalState.PENDING,
    }
    values.update(fields)
    if "run_id" in fields and "token_tags" not in fields:
        values["token_tags"] = ["needs-approval", f"run:{fields['run_id']}"]
    values.setdefault(
        "search_text",
        " ".join(
            str(v)
            for v in (
                values["token_id"],
                values["run_id"],
                values["description"],
                values["payload"],
            )
        ).lower(),
    )
    return Approval.objects.create(**values)


def approval_for_sandbox_run(ids: dict[str, str], **fields: Any) -> Approval:
    """The read-model row for a run started with the sandbox's ``start_run`` control."""
    return make_approval(token_id=ids["tokenId"], run_id=ids["runId"], **fields)


def make_decided_approval(actor: Any, verdict: str, comment: str, **fields: Any) -> Approval:
    """An approval decided by ``actor`` here and delivered (rows only: no upstream)."""
    approval = make_approval(state=ApprovalState.DECIDED, closed_at=timezone.now(), **fields)
    Decision.objects.create(
        approval=approval,
        actor=actor,
        actor_name=actor.username,
        verdict=verdict,
        comment=comment,
        envelope={},
        delivery_state=DeliveryState.DELIVERED,
    )
    return approval
