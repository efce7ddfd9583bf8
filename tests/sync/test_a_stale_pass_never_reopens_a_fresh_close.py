"""A reconcile pass reads upstream first and writes afterwards. If the realtime follower
closes an approval in between (the token was completed elsewhere), the pass's older reading
("still waiting") must not reopen it: the approval would reappear in every open queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from approvals.models import Approval, ApprovalState
from approvals.sync import sync_once
from approvals.trigger import TriggerClient


def test_a_close_newer_than_the_pass_is_kept(
    db: None, live_sandbox: Any, trigger: TriggerClient
) -> None:
    ids = live_sandbox.start_run()
    sync_once(client=trigger)
    closed_at = timezone.now()
    Approval.objects.filter(token_id=ids["tokenId"]).update(
        state=ApprovalState.COMPLETED_ELSEWHERE, closed_at=closed_at, closed_reason="by the feed"
    )

    # A pass that started reading before the close (the token still listed as waiting).
    report = sync_once(client=trigger, now=closed_at - timedelta(milliseconds=50))

    approval = Approval.objects.get(token_id=ids["tokenId"])
    assert approval.state == ApprovalState.COMPLETED_ELSEWHERE
    assert report.unchanged == 1 and report.updated == 0


def test_a_close_older_than_the_pass_is_reopened_when_the_token_still_waits(
    db: None, live_sandbox: Any, trigger: TriggerClient
) -> None:
    ids = live_sandbox.start_run()
    sync_once(client=trigger)
    closed_at = timezone.now() - timedelta(minutes=1)
    Approval.objects.filter(token_id=ids["tokenId"]).update(
        state=ApprovalState.GONE, closed_at=closed_at, closed_reason="a wrong 'gone'"
    )

    sync_once(client=trigger)

    assert Approval.objects.get(token_id=ids["tokenId"]).state == ApprovalState.PENDING
