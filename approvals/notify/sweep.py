"""Occurrences no change event announces: time passing, and events a process lost.

Run by the leader every few seconds (approvals.notify.outbox). ``now`` can be given, so tests
move time on without waiting. Each rule records an occurrence with the same unique key as
everything else: the sweep may find the same thing twice, and writes it once.
- approval.reminder: still pending ``NOTIFY_REMINDER_MINUTES`` before its expiry, when it had
  more than that to start with (otherwise the first email already said how little was left);
- approval.escalated: still pending its policy's ``escalate_after`` after it appeared;
- approval.delivery_failed: a decision Trigger.dev has not taken for
  ``NOTIFY_DELIVERY_FAILED_MINUTES``;
- the safety net: new, decided and expired approvals of the last ``NOTIFY_CATCH_UP_MINUTES``
  whose change event never arrived (a process died between its commit and the event).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, QuerySet
from django.utils import timezone

from approvals.models import Approval, ApprovalPolicy, ApprovalState, Decision, DeliveryState
from approvals.notify.models import Event
from approvals.notify.occurrences import record
from approvals.policies import PolicyBook

LIMIT = 500  # per rule and sweep: a backlog is worked off over a few sweeps


def sweep(now: datetime | None = None) -> int:
    """Record what is due; how many occurrences were looked at."""
    now = now or timezone.now()
    return reminders(now) + escalations(now) + undelivered(now) + lost_events(now)


def _without(approvals: QuerySet[Approval], event: str) -> QuerySet[Approval]:
    return approvals.exclude(notification_events__event=event)


def _record_all(ids: list[int], event: str) -> int:
    for pk in ids:
        record(pk, event)
    return len(ids)


def reminders(now: datetime) -> int:
    minutes = settings.NOTIFY_REMINDER_MINUTES
    if minutes <= 0:
        return 0
    window = timedelta(minutes=minutes)
    ids = _without(
        Approval.objects.filter(
            state=ApprovalState.PENDING,
            expires_at__gt=now,
            expires_at__lte=now + window,
            created_at__lt=F("expires_at") - window,
        ),
        Event.REMINDER,
    ).values_list("pk", flat=True)[:LIMIT]
    return _record_all(list(ids), Event.REMINDER)


def escalations(now: datetime) -> int:
    policies = ApprovalPolicy.objects.filter(
        escalate_after__isnull=False, escalation_group__isnull=False
    )
    shortest = min((p.escalate_after for p in policies if p.escalate_after), default=None)
    if shortest is None:
        return 0
    book = PolicyBook()
    candidates = _without(
        Approval.objects.filter(state=ApprovalState.PENDING, created_at__lte=now - shortest),
        Event.ESCALATED,
    ).only("pk", "task_identifier", "run_tags", "token_tags", "created_at")
    due = []
    for approval in candidates.iterator():
        policy = book.policy_of(approval)
        if (
            policy is not None
            and policy.escalate_after is not None
            and policy.escalation_group_id is not None
            and approval.created_at + policy.escalate_after <= now
        ):
            due.append(approval.pk)
            if len(due) >= LIMIT:
                break
    return _record_all(due, Event.ESCALATED)


def undelivered(now: datetime) -> int:
    after = timedelta(minutes=settings.NOTIFY_DELIVERY_FAILED_MINUTES)
    ids = (
        Decision.objects.filter(delivery_state=DeliveryState.PENDING, decided_at__lte=now - after)
        .exclude(approval__notification_events__event=Event.DELIVERY_FAILED)
        .values_list("approval_id", flat=True)[:LIMIT]
    )
    return _record_all(list(ids), Event.DELIVERY_FAILED)


def lost_events(now: datetime) -> int:
    since = now - timedelta(minutes=settings.NOTIFY_CATCH_UP_MINUTES)
    pending = _without(
        Approval.objects.filter(state=ApprovalState.PENDING, first_seen_at__gte=since),
        Event.PENDING,
    ).values_list("pk", flat=True)[:LIMIT]
    decided = (
        Decision.objects.filter(decided_at__gte=since)
        .exclude(approval__notification_events__event=Event.DECIDED)
        .values_list("approval_id", flat=True)[:LIMIT]
    )
    expired = _without(
        Approval.objects.filter(state=ApprovalState.TIMED_OUT, closed_at__gte=since),
        Event.EXPIRED,
    ).values_list("pk", flat=True)[:LIMIT]
    return (
        _record_all(list(pending), Event.PENDING)
        + _record_all(list(decided), Event.DECIDED)
        + _record_all(list(expired), Event.EXPIRED)
    )
