"""Who gets an email for each event (docs/notifications.md, "Who hears what"): reviewers who
may decide, not those without the right, not the requester when the policy forbids approving
one's own run, not inactive accounts; each person's own choices; escalations to the group
whatever they chose; the requester hears of the decision and of the expiry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group

from approvals.decisions import decide
from approvals.models import ApprovalPolicy
from approvals.notify.fanout import fan_out_due
from approvals.notify.models import Event, Notification, Preferences
from approvals.notify.occurrences import record
from tests.factories import make_approval
from tests.notify.conftest import person

pytestmark = pytest.mark.django_db


def mailed(event: str) -> set[str]:
    fan_out_due()
    return set(Notification.objects.filter(event=event).values_list("address", flat=True))


@pytest.fixture(autouse=True)
def _email_on(settings: Any) -> None:
    settings.NOTIFY_EMAIL = True
    settings.APPROVALS_BASE_URL = "https://approvals.example.com"


def test_new_approval_goes_to_those_who_may_decide_it(reviewers_group: Group) -> None:
    person("alice", reviewers_group)
    person("bob", reviewers_group)
    person("outsider")  # no right to decide
    person("gone", reviewers_group, is_active=False)
    person("admin", is_superuser=True)
    noaddress = person("noaddress", reviewers_group)
    noaddress.email = ""
    noaddress.save()
    # The requester may not approve their own run under the default rules.
    person("dev", reviewers_group)
    approval = make_approval(requested_by="Dev <DEV@example.com>")
    record(approval.pk, Event.PENDING)
    assert mailed(Event.PENDING) == {"alice@example.com", "bob@example.com", "admin@example.com"}


def test_a_policy_allowing_self_approval_mails_the_requester_too(reviewers_group: Group) -> None:
    person("dev", reviewers_group)
    ApprovalPolicy.objects.create(name="self ok", allow_self_approval=True)
    approval = make_approval(requested_by="dev@example.com")
    record(approval.pk, Event.PENDING)
    assert mailed(Event.PENDING) == {"dev@example.com"}


def test_a_policy_restricted_to_groups_mails_only_their_members(reviewers_group: Group) -> None:
    finance = Group.objects.create(name="finance")
    person("alice", reviewers_group)
    person("fiona", reviewers_group, finance)
    person("admin", is_superuser=True)  # not in the group: a restricted policy is the list
    policy = ApprovalPolicy.objects.create(
        name="money", task_pattern="pay-*", restrict_to_groups=True
    )
    policy.approver_groups.add(finance)
    record(make_approval(task_identifier="pay-out").pk, Event.PENDING)
    assert mailed(Event.PENDING) == {"fiona@example.com"}


def test_each_person_can_turn_their_emails_off(reviewers_group: Group) -> None:
    alice = person("alice", reviewers_group)
    person("bob", reviewers_group)
    Preferences.objects.create(user=alice, email_pending=False)
    record(make_approval().pk, Event.PENDING)
    assert mailed(Event.PENDING) == {"bob@example.com"}


def test_escalations_reach_the_group_whatever_they_chose(reviewers_group: Group) -> None:
    leads = Group.objects.create(name="leads")
    lead = person("lead", leads)  # no right to decide needed to be told
    Preferences.objects.create(
        user=lead, email_pending=False, email_reminder=False, email_decided=False
    )
    person("alice", reviewers_group)
    ApprovalPolicy.objects.create(
        name="escalating", escalate_after=timedelta(hours=1), escalation_group=leads
    )
    record(make_approval().pk, Event.ESCALATED)
    assert mailed(Event.ESCALATED) == {"lead@example.com"}


def test_the_requester_hears_of_the_decision_and_the_decider_does_not(
    reviewers_group: Group, django_capture_on_commit_callbacks: Any
) -> None:
    dev = person("dev")
    alice = person("alice", reviewers_group)
    approval = make_approval(requested_by=dev.email)
    # The decision's change event records the occurrence once the transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        decide(token_id=approval.token_id, actor=alice, verdict="reject", comment="not now",
               deliver_now=False)  # fmt: skip
    assert mailed(Event.DECIDED) == {"dev@example.com"}
    mail = Notification.objects.get(event=Event.DECIDED)
    assert mail.subject.startswith("Rejected by alice@example.com")
    assert "not now" in mail.body


def test_a_requester_who_withdrew_their_own_request_gets_no_mail_about_it(
    reviewers_group: Group, django_capture_on_commit_callbacks: Any
) -> None:
    dev = person("dev", reviewers_group)
    approval = make_approval(requested_by=dev.email)
    with django_capture_on_commit_callbacks(execute=True):
        decide(token_id=approval.token_id, actor=dev, verdict="reject", comment="withdrawn",
               deliver_now=False)  # fmt: skip
    assert mailed(Event.DECIDED) == set()
    # (The occurrence was recorded: it is the recipient rule that left the requester out.)
    assert approval.notification_events.filter(event=Event.DECIDED).exists()


def test_expiry_goes_to_the_requester_and_undelivered_decisions_to_admins(
    reviewers_group: Group,
) -> None:
    person("dev")
    person("admin", is_superuser=True)
    person("alice", reviewers_group)
    approval = make_approval(requested_by="dev@example.com")
    record(approval.pk, Event.EXPIRED)
    record(approval.pk, Event.DELIVERY_FAILED)
    assert mailed(Event.EXPIRED) == {"dev@example.com"}
    assert mailed(Event.DELIVERY_FAILED) == {"admin@example.com"}


def test_no_email_rows_while_email_is_off(settings: Any, reviewers_group: Group) -> None:
    settings.NOTIFY_EMAIL = False
    person("alice", reviewers_group)
    record(make_approval().pk, Event.PENDING)
    assert mailed(Event.PENDING) == set()


def test_an_approval_settled_before_fan_out_asks_nobody(reviewers_group: Group) -> None:
    person("alice", reviewers_group)
    approval = make_approval(state="completed_elsewhere")
    record(approval.pk, Event.PENDING)
    record(approval.pk, Event.REMINDER)
    assert mailed(Event.PENDING) == set()
    assert mailed(Event.REMINDER) == set()


def test_an_event_is_told_once_however_often_it_is_recorded(reviewers_group: Group) -> None:
    person("alice", reviewers_group)
    approval = make_approval()
    record(approval.pk, Event.PENDING)
    fan_out_due()
    record(approval.pk, Event.PENDING)
    fan_out_due()
    assert Notification.objects.filter(event=Event.PENDING).count() == 1
