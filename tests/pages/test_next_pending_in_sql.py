"""The detail page's "Next pending" is two queries whatever the queue's length, and follows
the queue's own order exactly, wrapping round; checked against a sort of every row (the way it
was found before) on queues with ties and approvals that never expire."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import Approval, ApprovalState
from approvals.queries import ORDER_NEWEST, ORDER_TIME_LEFT
from approvals.reviewing import next_pending
from tests.factories import make_approval


def _by_sorting(approvals: Any, *, after: Approval, order: str) -> int | None:
    """The reference: every row's sort key, sorted, the first one after ``after``'s."""

    def key(expires_at: Any, created_at: Any, pk: int) -> tuple[Any, ...]:
        if order == ORDER_NEWEST:
            return (-created_at.timestamp(), pk)
        return (
            expires_at is None,
            expires_at.timestamp() if expires_at else 0.0,
            -created_at.timestamp(),
            pk,
        )

    current = key(after.expires_at, after.created_at, after.pk)
    rows = sorted(
        (key(e, c, pk), pk)
        for pk, e, c in approvals.exclude(pk=after.pk).values_list("pk", "expires_at", "created_at")
    )
    if not rows:
        return None
    following = [pk for row_key, pk in rows if row_key > current]
    return int(following[0]) if following else int(rows[0][1])


@pytest.mark.parametrize("order", [ORDER_TIME_LEFT, ORDER_NEWEST])
def test_next_pending_follows_the_queue_order_with_ties_and_no_expiry(db: None, order: str) -> None:
    rng = random.Random(7)
    now = timezone.now().replace(microsecond=0)
    for _ in range(40):
        make_approval(
            created_at=now - timedelta(minutes=rng.choice([1, 2, 3])),  # ties
            expires_at=rng.choice([None, now + timedelta(hours=1), now + timedelta(hours=2)]),
        )
    queue = Approval.objects.filter(state=ApprovalState.PENDING)
    for after in queue:
        found = next_pending(queue, after=after, order=order)
        assert (found.pk if found else None) == _by_sorting(queue, after=after, order=order)


def test_next_pending_costs_two_queries_at_most(db: None) -> None:
    rows = [make_approval() for _ in range(30)]
    queue = Approval.objects.filter(state=ApprovalState.PENDING)
    with CaptureQueriesContext(connection) as queries:
        next_pending(queue, after=rows[-1], order=ORDER_TIME_LEFT)  # the last wraps round
    assert len(queries.captured_queries) <= 2


def test_nothing_left_is_none(db: None) -> None:
    only = make_approval()
    queue = Approval.objects.filter(state=ApprovalState.PENDING)
    assert next_pending(queue, after=only, order=ORDER_TIME_LEFT) is None
