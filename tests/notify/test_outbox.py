"""The outbox against real receivers on loopback: an SMTP server and HTTP receivers that
check the signature, fail for a while, answer slowly or not at all (docs/notifications.md,
"Delivery")."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from approvals.decisions import decide
from approvals.notify.fanout import fan_out_due
from approvals.notify.models import Channel, ChannelKind, DeliveryStatus, Event, Notification
from approvals.notify.occurrences import record
from approvals.notify.outbox import Notifier, due, send_rows
from tests.factories import make_approval
from tests.notify.conftest import person
from tests.notify.parts import Mailbox, Receiver, Request
from tests.served import free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "s3cret-for-tests"


def send_all() -> None:
    fan_out_due()
    for ids in due().values():
        send_rows(ids)


def verifies(request: Request, secret: str = SECRET) -> bool:
    """What a receiver does (README, "Webhooks"): HMAC-SHA256 of the raw body, in hex."""
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers.get("x-approvals-signature", ""), expected)


def webhook(receiver: Receiver, name: str = "hook", **fields: Any) -> Channel:
    return Channel.objects.create(
        name=name, kind=ChannelKind.WEBHOOK, target=receiver.url, secret=SECRET, **fields
    )


def test_a_reviewer_gets_a_plain_text_and_html_email_with_safe_links(
    mailbox: Mailbox, reviewers_group: Group
) -> None:
    person("alice", reviewers_group)
    approval = make_approval(description='Ship <b>"v2"</b>\nto prod', requested_by="dev@x.org")
    record(approval.pk, Event.PENDING)
    send_all()
    [mail] = mailbox.to("alice@example.com")
    assert mail.message["Subject"] == 'Waiting for your decision: Ship <b>"v2"</b> to prod'
    page = f"https://approvals.example.com/approvals/{approval.token_id}/"
    assert page in mail.text
    assert f"{page}?confirm=approve" in mail.text
    # Upstream text is escaped in the HTML part, and the links are there too.
    assert "&lt;b&gt;" in mail.html and "<b>" not in mail.html
    assert f'href="{page}?confirm=approve"' in mail.html
    row = Notification.objects.get()
    assert row.status == DeliveryStatus.SENT and row.attempts == 1
    assert mail.message["X-Approvals-Delivery"] == str(row.delivery_id)


def test_a_webhook_gets_signed_json_with_the_event_and_delivery_id(receiver: Receiver) -> None:
    webhook(receiver)
    approval = make_approval()
    record(approval.pk, Event.PENDING)
    send_all()
    [request] = receiver.requests
    assert verifies(request)
    assert not verifies(request, secret="another secret")
    body = json.loads(request.body)
    row = Notification.objects.get()
    assert request.headers["x-approvals-event"] == "approval.pending" == body["event"]
    assert request.headers["x-approvals-delivery"] == str(row.delivery_id) == body["id"]
    assert body["approval"]["token_id"] == approval.token_id
    assert body["approval"]["url"].endswith(f"/approvals/{approval.token_id}/")


def test_a_failing_receiver_is_retried_under_the_same_delivery_id_until_it_takes_it(
    receiver: Receiver, settings: Any
) -> None:
    settings.NOTIFY_BACKOFF_SECONDS = 0
    answers = iter([500, 503, 204])
    receiver.answer = lambda request: next(answers)
    webhook(receiver)
    record(make_approval().pk, Event.PENDING)
    for _ in range(3):
        send_all()
    row = Notification.objects.get()
    assert row.status == DeliveryStatus.SENT and row.attempts == 3
    ids = {r.headers["x-approvals-delivery"] for r in receiver.requests}
    bodies = {r.body for r in receiver.requests}
    assert len(receiver.requests) == 3 and ids == {str(row.delivery_id)} and len(bodies) == 1


def test_failures_back_off_then_give_up_and_say_why(receiver: Receiver, settings: Any) -> None:
    settings.NOTIFY_BACKOFF_SECONDS = 60
    receiver.answer = lambda request: 500
    webhook(receiver)
    record(make_approval().pk, Event.PENDING)
    send_all()
    row = Notification.objects.get()
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert row.last_error == "the receiver answered HTTP 500"
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=50)
    send_all()  # not due yet: nothing sent
    assert len(receiver.requests) == 1
    # Past NOTIFY_RETRY_FOR_SECONDS, the next failure is the last.
    settings.NOTIFY_RETRY_FOR_SECONDS = 0
    Notification.objects.update(next_attempt_at=timezone.now())
    send_all()
    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED and row.attempts == 2


def test_a_dead_receiver_is_an_error_without_its_address(settings: Any) -> None:
    port = free_port()  # nothing listens there
    target = f"http://127.0.0.1:{port}/services/T0/B0/xyz"
    Channel.objects.create(name="slack", kind=ChannelKind.SLACK, target=target)
    record(make_approval().pk, Event.PENDING)
    send_all()
    row = Notification.objects.get()
    assert row.status == DeliveryStatus.PENDING
    assert row.last_error.startswith("could not reach the receiver")
    assert "xyz" not in row.last_error and str(port) not in row.last_error


def test_a_receiver_that_never_answers_times_out(settings: Any) -> None:
    settings.NOTIFY_TIMEOUT_SECONDS = 0.5
    silent = Receiver()  # bound and listening, never started: takes the call, never answers
    try:
        webhook(silent)
        record(make_approval().pk, Event.PENDING)
        send_all()
        row = Notification.objects.get()
        assert (row.status, row.last_error) == (
            DeliveryStatus.PENDING,
            "no answer within 0.5 s (timed out)",
        )
    finally:
        silent.server.server_close()


def test_a_slack_channel_gets_block_kit_with_a_button_and_a_follow_up_on_the_decision(
    receiver: Receiver, settings: Any
) -> None:
    settings.APPROVALS_BASE_URL = "https://approvals.example.com"
    Channel.objects.create(name="slack", kind=ChannelKind.SLACK, target=receiver.url)
    approval = make_approval(description="<!channel> deploy & go", requested_by="dev@x.org")
    record(approval.pk, Event.PENDING)
    send_all()
    message = json.loads(receiver.requests[0].body)
    text = json.dumps(message)
    assert "<!channel>" not in text and "&lt;!channel&gt; deploy &amp; go" in text
    [button] = message["blocks"][-1]["elements"]
    assert button["url"] == f"https://approvals.example.com/approvals/{approval.token_id}/"
    fields = " ".join(f["text"] for f in message["blocks"][1]["fields"])
    assert "deploy-production" in fields and "dev@x.org" in fields
    assert "x-approvals-signature" not in receiver.requests[0].headers  # Slack has no secret


def test_a_slow_receiver_does_not_hold_up_the_others(
    receiver: Receiver, mailbox: Mailbox, reviewers_group: Group, settings: Any
) -> None:
    settings.NOTIFY_TIMEOUT_SECONDS = 30
    settings.NOTIFY_POLL_SECONDS = 0.05
    settings.NOTIFY_REMINDER_MINUTES = 0  # the sweep's reminders would add rows
    release = threading.Event()
    slow = Receiver(answer=lambda request: 204 if release.wait(30) else 500).start()
    try:
        webhook(slow, "slow")
        webhook(receiver, "quick")
        person("alice", reviewers_group)
        notifier = Notifier().start()
        try:
            record(make_approval().pk, Event.PENDING)
            # The quick webhook and the email are sent while the slow one holds its request.
            sent = Notification.objects.filter(status=DeliveryStatus.SENT)
            wait_until(lambda: sent.count() == 2 and slow.requests, timeout=10)
            assert set(sent.values_list("recipient_key", flat=True)) == {
                f"channel:{Channel.objects.get(name='quick').pk}",
                f"user:{User.objects.get(username='alice').pk}",
            }
            held = Notification.objects.get(channel__name="slow")
            assert held.status == DeliveryStatus.SENDING
            release.set()
            wait_until(
                lambda: Notification.objects.filter(status=DeliveryStatus.SENT).count() == 3,
                timeout=10,
            )
        finally:
            release.set()
            notifier.stop()
    finally:
        slow.stop()


def test_a_channel_turned_off_cancels_what_it_had_not_sent(receiver: Receiver) -> None:
    channel = webhook(receiver)
    record(make_approval().pk, Event.PENDING)
    fan_out_due()
    Channel.objects.filter(pk=channel.pk).update(active=False)
    send_all()
    assert Notification.objects.get().status == DeliveryStatus.CANCELLED
    assert receiver.requests == []


def test_channels_take_only_their_events_tasks_and_policies(receiver: Receiver) -> None:
    webhook(receiver, "decisions only", events=[Event.DECIDED])
    webhook(receiver, "deploys", task_patterns="deploy-* release")
    webhook(receiver, "payments", task_patterns="pay-*")
    approval = make_approval(task_identifier="deploy-web")
    record(approval.pk, Event.PENDING)
    fan_out_due()
    assert list(Notification.objects.values_list("channel__name", flat=True)) == ["deploys"]


def test_the_environment_webhook_is_a_channel_kept_in_step(
    receiver: Receiver, settings: Any
) -> None:
    from approvals.notify import environment

    settings.NOTIFY_WEBHOOK_URL = receiver.url
    settings.NOTIFY_WEBHOOK_SECRET = SECRET
    record(make_approval().pk, Event.PENDING)
    send_all()
    assert verifies(receiver.requests[0])
    settings.NOTIFY_WEBHOOK_URL = ""
    environment.forget()
    environment.ensure_environment_channel()
    assert not Channel.objects.get(from_environment=True).active


def test_bidi_and_invisible_characters_are_shown_as_escapes_not_obeyed(
    mailbox: Mailbox, receiver: Receiver, reviewers_group: Group
) -> None:
    """A description written to render reversed ("Trojan Source") reads in an email and in
    Slack as the pages show it: the control characters as visible escapes."""
    person("alice", reviewers_group)
    Channel.objects.create(name="slack", kind=ChannelKind.SLACK, target=receiver.url)
    approval = make_approval(description="Pay \u202eexe.gpj\u202c invoice\u200b now")
    record(approval.pk, Event.PENDING)
    send_all()
    [mail] = mailbox.to("alice@example.com")
    slack = receiver.requests[0].body.decode()
    for text in (str(mail.message["Subject"]), mail.text, mail.html, json.loads(slack)["text"]):
        assert "\u202e" not in text and "\u200b" not in text
        assert "Pay \\u202eexe.gpj\\u202c invoice\\u200b now" in text


def test_a_removed_channel_keeps_its_record_and_cancels_the_rest(receiver: Receiver) -> None:
    channel = webhook(receiver)
    approval = make_approval()
    record(approval.pk, Event.PENDING)
    send_all()
    record(approval.pk, Event.REMINDER)
    fan_out_due()
    channel.delete()
    send_all()
    sent, cancelled = Notification.objects.order_by("created_at", "pk")
    assert (sent.status, sent.recipient_label) == (DeliveryStatus.SENT, "a channel since removed")
    assert (cancelled.status, cancelled.last_error) == (
        DeliveryStatus.CANCELLED,
        "the channel was removed",
    )
    assert len(receiver.requests) == 1


def test_a_hanging_receiver_never_holds_up_a_decision(
    receiver: Receiver, reviewers_group: Group, settings: Any
) -> None:
    """While the sender waits on a receiver that does not answer, a reviewer decides: the
    decision is recorded (and its own event noted) without waiting for that receiver."""
    settings.NOTIFY_TIMEOUT_SECONDS = 60
    settings.NOTIFY_POLL_SECONDS = 0.05
    settings.NOTIFY_REMINDER_MINUTES = 0
    release = threading.Event()
    hanging = Receiver(answer=lambda request: 204 if release.wait(60) else 500).start()
    try:
        webhook(hanging, "hanging")
        rita = person("rita", reviewers_group)
        approval = make_approval()
        notifier = Notifier().start()
        try:
            record(approval.pk, Event.PENDING)
            wait_until(lambda: hanging.requests, timeout=10)  # the sender now waits on it
            result = decide(
                token_id=approval.token_id, actor=rita, verdict="reject", comment="no",
                deliver_now=False,
            )  # fmt: skip
            assert result.decision is not None and not release.is_set()
            assert approval.notification_events.filter(event=Event.DECIDED).exists()
            held = Notification.objects.get(event=Event.PENDING, channel__name="hanging")
            assert held.status == DeliveryStatus.SENDING
        finally:
            release.set()
            notifier.stop()
    finally:
        hanging.stop()
