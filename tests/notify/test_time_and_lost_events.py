"""What no change event announces: reminders, escalations and expiry as the sandbox's clock
moves on, decisions Trigger.dev has not taken, and events a process lost (the sweep:
docs/notifications.md, "Events")."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from approvals.models import Approval, ApprovalPolicy, Decision, Verdict
from approvals.notify import sweep
from approvals.notify.fanout import fan_out_due
from approvals.notify.models import DeliveryStatus, Event, Notification, Occurrence
from approvals.notify.outbox import due, send_rows
from approvals.sync.reconcile import sync_once
from tests.factories import make_approval
from tests.notify.conftest import person
from tests.notify.parts import Mailbox

pytestmark = pytest.mark.django_db(transaction=True)


def sandbox_now(sandbox: Any) -> datetime:
    moment = parse_datetime(sandbox.control("GET", "clock")["now"])
    assert moment is not None
    return moment


def advance(sandbox: Any, **delta: float) -> datetime:
    sandbox.control("POST", "clock", {"advanceSeconds": timedelta(**delta).total_seconds()})
    return sandbox_now(sandbox)


def deliver() -> None:
    fan_out_due()
    for ids in due().values():
        send_rows(ids)


def subjects(mailbox: Mailbox, address: str) -> list[str]:
    """What each mail to ``address`` is about: its subject up to the title."""
    return [str(mail.message["Subject"]).rsplit(": ", 1)[0] for mail in mailbox.to(address)]


def test_reminder_escalation_and_expiry_follow_the_sandbox_clock(
    live_sandbox: Any, mailbox: Mailbox, reviewers_group: Group, settings: Any
) -> None:
    settings.NOTIFY_REMINDER_MINUTES = 60
    leads = Group.objects.create(name="leads")
    person("alice", reviewers_group)
    person("lead", leads)
    person("dev")
    ApprovalPolicy.objects.create(
        name="escalating", escalate_after=timedelta(minutes=90), escalation_group=leads
    )
    live_sandbox.start_run(timeout="3h", requestedBy="dev@example.com")
    assert sync_once().ok
    start = sandbox_now(live_sandbox)
    sweep.sweep(now=start)
    deliver()
    assert subjects(mailbox, "alice@example.com") == ["Waiting for your decision"]

    # 1 h 35 min on: past the escalation delay, not yet within an hour of expiry.
    sweep.sweep(now=advance(live_sandbox, minutes=95))
    deliver()
    assert subjects(mailbox, "lead@example.com") == ["Escalated, undecided after 1 h 30 min"]
    assert len(mailbox.to("alice@example.com")) == 1

    # 2 h 5 min on: within the hour before expiry, reminded once however often swept.
    later = advance(live_sandbox, minutes=30)
    sweep.sweep(now=later)
    sweep.sweep(now=later + timedelta(minutes=1))
    deliver()
    expiry = Approval.objects.get().expires_at
    assert expiry is not None
    assert subjects(mailbox, "alice@example.com") == [
        "Waiting for your decision",
        f"Reminder: expires {expiry:%Y-%m-%d %H:%M} UTC",
    ]

    # Past the timeout: the sync sees the token time out; the requester hears of it.
    advance(live_sandbox, hours=1)
    assert sync_once().ok
    deliver()
    assert Approval.objects.get().state == "timed_out"
    assert subjects(mailbox, "dev@example.com") == ["Expired without a decision"]


def test_no_reminder_for_an_approval_that_arrived_with_less_than_the_window(
    settings: Any,
) -> None:
    settings.NOTIFY_REMINDER_MINUTES = 60
    now = timezone.now()
    make_approval(created_at=now - timedelta(minutes=1), expires_at=now + timedelta(minutes=30))
    reminded = make_approval(
        created_at=now - timedelta(hours=3), expires_at=now + timedelta(minutes=30)
    )
    not_yet = make_approval(
        created_at=now - timedelta(hours=3), expires_at=now + timedelta(hours=2)
    )
    sweep.reminders(now)
    assert list(Occurrence.objects.values_list("approval_id", flat=True)) == [reminded.pk]
    sweep.reminders(now + timedelta(hours=1, minutes=1))
    assert Occurrence.objects.filter(approval=not_yet).exists()


def test_a_decision_not_taken_by_trigger_dev_is_told_to_admins_once(
    mailbox: Mailbox, settings: Any, reviewers_group: Group
) -> None:
    settings.NOTIFY_DELIVERY_FAILED_MINUTES = 15
    rita = person("rita", reviewers_group)
    person("root", is_superuser=True)
    approval = make_approval(state="decided")
    decided_at = timezone.now() - timedelta(minutes=10)
    Decision.objects.create(
        approval=approval, actor=rita, verdict=Verdict.APPROVE, envelope={}, decided_at=decided_at
    )
    sweep.undelivered(timezone.now())
    assert not Occurrence.objects.filter(event=Event.DELIVERY_FAILED).exists()
    sweep.undelivered(timezone.now() + timedelta(minutes=6))
    sweep.undelivered(timezone.now() + timedelta(minutes=7))
    deliver()
    assert subjects(mailbox, "root@example.com") == ["Decision not yet delivered to Trigger.dev"]


def test_the_sweep_announces_what_a_lost_event_left_unsaid(
    mailbox: Mailbox, reviewers_group: Group, settings: Any
) -> None:
    settings.NOTIFY_REMINDER_MINUTES = 0
    settings.NOTIFY_CATCH_UP_MINUTES = 60
    person("alice", reviewers_group)
    # Written straight to the table: no change event, as if the process died after commit.
    fresh = make_approval()
    make_approval(first_seen_at=timezone.now() - timedelta(hours=2))  # older than the net
    sweep.sweep()
    deliver()
    assert [m.message["X-Approvals-Event"] for m in mailbox.to("alice@example.com")] == [
        "approval.pending"
    ]
    assert fresh.token_id in mailbox.to("alice@example.com")[0].text
    assert Notification.objects.get().status == DeliveryStatus.SENT


def test_the_backlog_found_by_the_first_sync_is_not_announced_and_what_follows_is(
    live_sandbox: Any, mailbox: Mailbox, reviewers_group: Group, settings: Any, monkeypatch: Any
) -> None:
    """Connecting the dashboard to a Trigger.dev with approvals already waiting must not mail
    every reviewer once per waiting approval (NOTIFY_FIRST_SYNC off, as in production)."""
    from approvals.notify import occurrences

    settings.NOTIFY_FIRST_SYNC = False
    settings.NOTIFY_REMINDER_MINUTES = 0
    monkeypatch.setattr(occurrences, "_first_sync_done", False)
    person("alice", reviewers_group)
    backlog = [live_sandbox.start_run(description=f"old {n}") for n in range(3)]
    assert sync_once().created == 3
    sweep.sweep()  # nor does the safety net announce them later
    deliver()
    assert mailbox.to("alice@example.com") == []
    assert Occurrence.objects.filter(event=Event.PENDING).count() == len(backlog)

    fresh = live_sandbox.start_run(description="new after the first sync")
    assert sync_once().created == 1
    deliver()
    [mail] = mailbox.to("alice@example.com")
    assert fresh["tokenId"] in mail.text
