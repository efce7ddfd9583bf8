"""The history lists approvals that left the queue, with who, when, verdict and delivery."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from approvals.models import Approval, ApprovalState, Decision, DeliveryState
from tests.factories import make_approval
from tests.pages.conftest import HTMX


def _rows(body: str) -> list[str]:
    return re.findall(r'<tr data-token-id="([^"]+)"', body)


def _decided(actor: Any, verdict: str, **fields: Any) -> Approval:
    delivery = fields.pop("delivery", DeliveryState.DELIVERED)
    comment = fields.pop("comment", "")
    at = fields.pop("at", timezone.now())
    approval = make_approval(state=ApprovalState.DECIDED, **fields)
    Decision.objects.create(
        approval=approval,
        actor=actor,
        verdict=verdict,
        comment=comment,
        envelope={},
        delivery_state=delivery,
        decided_at=at,
    )
    return approval


def test_history_lists_decided_and_closed_approvals_latest_first(
    rita: Client, reviewer: Any
) -> None:
    now = timezone.now()
    make_approval(description="Still pending")
    older = _decided(reviewer, "approve", comment="Ship it", at=now - timedelta(hours=2))
    closed = make_approval(
        state=ApprovalState.TIMED_OUT,
        closed_at=now - timedelta(hours=1),
        closed_reason="token timed out",
    )
    newer = _decided(reviewer, "reject", comment="Freeze", delivery=DeliveryState.PENDING, at=now)
    body = rita.get("/history/").content.decode()
    assert _rows(body) == [newer.token_id, closed.token_id, older.token_id]
    assert "Still pending" not in body
    assert "Ship it" in body and "Freeze" in body and "the run continued with a timeout" in body
    assert "Waiting to be delivered" in body and "Delivered" in body
    assert ">rita<" in body


def test_history_filters_by_verdict_reviewer_delivery_task_and_outcome(
    rita: Client, reviewer: Any, second_reviewer: Any
) -> None:
    approved = _decided(reviewer, "approve", task_identifier="deploy-production")
    rejected = _decided(
        second_reviewer, "reject", task_identifier="publish-article", delivery="pending"
    )
    timed_out = make_approval(state=ApprovalState.TIMED_OUT, closed_at=timezone.now())
    assert _rows(rita.get("/history/?verdict=approve").content.decode()) == [approved.token_id]
    assert _rows(rita.get("/history/?reviewer=sam").content.decode()) == [rejected.token_id]
    assert _rows(rita.get("/history/?delivery=pending").content.decode()) == [rejected.token_id]
    assert _rows(rita.get("/history/?task=publish-article").content.decode()) == [rejected.token_id]
    assert _rows(rita.get("/history/?state=timed_out").content.decode()) == [timed_out.token_id]


def test_history_paginates_and_answers_htmx_with_the_fragment(rita: Client, reviewer: Any) -> None:
    for _ in range(27):
        make_approval(state=ApprovalState.RUN_ENDED, closed_at=timezone.now())
    first = rita.get("/history/").content.decode()
    assert len(_rows(first)) == 25
    assert 'href="/history/?page=2"' in first
    fragment = rita.get("/history/?page=2", **HTMX).content.decode()
    assert fragment.lstrip().startswith('<section id="history-results"')
    assert len(_rows(fragment)) == 2


def test_history_names_everyone_who_voted_on_an_n_of_m_approval(
    rita: Client, reviewer: Any, second_reviewer: Any
) -> None:
    """Two keys: Rita's approval came first, Sam's settled it. The row names Sam and says
    Rita approved before him; filtering by Rita finds it, though she did not settle it."""
    from approvals.decisions import decide
    from tests.decisions.helpers import make_policy

    make_policy(name="Two keys", approvals_required=2)
    both = make_approval(description="Needs two keys")
    decide(token_id=both.token_id, actor=reviewer, verdict="approve", deliver_now=False)
    decide(token_id=both.token_id, actor=second_reviewer, verdict="approve", deliver_now=False)
    alone = _decided(second_reviewer, "reject", comment="Not this week")

    body = rita.get("/history/").content.decode()
    cell = re.search(
        rf'data-token-id="{both.token_id}".*?<td class="who"[^>]*>(.*?)</td>', body, re.S
    )
    assert cell is not None
    assert cell.group(1).startswith("sam") and "after rita approved" in cell.group(1)
    lone = re.search(
        rf'data-token-id="{alone.token_id}".*?<td class="who"[^>]*>(.*?)</td>', body, re.S
    )
    assert lone is not None and lone.group(1) == "sam"  # one reviewer: no "after"
    assert _rows(rita.get("/history/?reviewer=rita").content.decode()) == [both.token_id]
    assert '<option value="rita"' in body  # a reviewer who only voted is in the filter menu
