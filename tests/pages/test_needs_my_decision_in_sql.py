""" "Needs my decision" and "Requested by me" cost the same with 10,000 pending approvals as
with 100 when every policy gives the reviewer the same rights (approvals.reviewing.narrow):
one query, not a read of every row; and the rows are exactly those the row-by-row judgement
picks."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.models import Approval, ApprovalPolicy, ApprovalState, Verdict, Vote
from approvals.reviewing import SHOW_MINE, SHOW_REQUESTED, Reviewer
from tests.factories import make_approval

# The row-by-row judgement reads exactly these columns of every candidate row.
ROW_BY_ROW = (
    '"token_tags" AS "token_tags", "approvals_approval"."requested_by" AS "requested_by" FROM'
)


def _queue(reviewer: Any) -> list[Approval]:
    rows = [
        make_approval(requested_by="someone@example.com"),
        make_approval(requested_by=f"  {reviewer.email.upper()} "),  # the reviewer, reformatted
        make_approval(requested_by=reviewer.username),
        make_approval(requested_by="someone-else@example.com", task_identifier="refund"),
        make_approval(requested_by="x@example.com"),
    ]
    Vote.objects.create(
        approval=rows[4], actor=reviewer, actor_name=reviewer.username, verdict=Verdict.APPROVE
    )
    return rows


def _pending() -> Any:
    return Approval.objects.filter(state=ApprovalState.PENDING).order_by("pk")


def _both_ways(reviewer: Any, show: str, personal: bool) -> tuple[list[int], list[int]]:
    judge = Reviewer(reviewer)
    in_sql = list(judge.narrow(_pending(), show, personal=personal).values_list("pk", flat=True))
    one_by_one = judge._narrow_row_by_row(_pending(), personal=personal)
    if show == SHOW_REQUESTED:
        standings = judge.standings(_pending())
        expected = [pk for pk, s in standings.items() if s.is_requester]
    else:
        expected = list(one_by_one.values_list("pk", flat=True))
    return in_sql, sorted(expected)


@pytest.mark.parametrize("allow_self", [False, True])
@pytest.mark.parametrize(
    ("show", "personal"), [(SHOW_MINE, True), (SHOW_MINE, False), (SHOW_REQUESTED, True)]
)
def test_the_view_in_sql_picks_what_the_row_by_row_judgement_picks(
    db: None, reviewer: Any, allow_self: bool, show: str, personal: bool
) -> None:
    ApprovalPolicy.objects.create(
        name="everything", task_pattern="*", allow_self_approval=allow_self
    )
    rows = _queue(reviewer)
    in_sql, expected = _both_ways(reviewer, show, personal)
    assert in_sql == expected
    if show == SHOW_MINE and personal:
        mine = {rows[1].pk, rows[2].pk}
        assert set(in_sql) == ({rows[0].pk, rows[3].pk} | (mine if allow_self else set()))


def test_the_view_is_one_query_whatever_the_queue(db: None, reviewer: Any) -> None:
    _queue(reviewer)
    for n in range(20):
        make_approval(requested_by=f"p{n}@example.com")
    judge = Reviewer(reviewer)
    with CaptureQueriesContext(connection) as queries:
        picked = list(judge.narrow(_pending(), SHOW_MINE))
    assert len(picked) == 22
    assert not any(ROW_BY_ROW in q["sql"] for q in queries.captured_queries)


def test_policies_giving_different_rights_are_judged_row_by_row(db: None, reviewer: Any) -> None:
    finance = Group.objects.create(name="finance")
    refunds = ApprovalPolicy.objects.create(
        name="refunds", task_pattern="refund", restrict_to_groups=True
    )
    refunds.approver_groups.add(finance)
    rows = _queue(reviewer)
    judge = Reviewer(reviewer)
    with CaptureQueriesContext(connection) as queries:
        picked = [a.pk for a in judge.narrow(_pending(), SHOW_MINE)]
    assert any(ROW_BY_ROW in q["sql"] for q in queries.captured_queries)
    assert rows[3].pk not in picked  # a refund: the reviewer is not in finance
    assert picked == [rows[0].pk]
