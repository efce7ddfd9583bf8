"""The admin's side of notifications (write-only secrets, Slack URLs hidden, the environment's
channel read-only, "Send again now") and the start-up checks (docs/notifications.md,
"Settings")."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

from approvals.notify import environment
from approvals.notify.checks import check_notifications
from approvals.notify.models import (
    Channel,
    ChannelKind,
    DeliveryStatus,
    Event,
    Notification,
    Occurrence,
)
from tests.factories import make_approval
from tests.notify.parts import Receiver

ROOT = Path(__file__).resolve().parents[2]
SLACK_URL = "https://hooks.slack.com/services/T000/B000/very-secret-part"


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


@pytest.mark.parametrize("base", ["", "approvals.example.com", "ftp://x.example.com"])
def test_email_without_a_usable_base_url_is_an_error(base: str) -> None:
    with override_settings(EMAIL_HOST="smtp.example.com", APPROVALS_BASE_URL=base):
        assert ids(check_notifications()) == ["approvals.E012"]


def test_email_with_a_base_url_and_no_email_at_all_pass() -> None:
    with override_settings(
        EMAIL_HOST="smtp.example.com", APPROVALS_BASE_URL="https://a.example.com"
    ):
        assert check_notifications() == []
    with override_settings(EMAIL_HOST="", APPROVALS_BASE_URL=""):
        assert check_notifications() == []


def test_an_environment_webhook_needs_a_url_and_a_secret() -> None:
    with override_settings(NOTIFY_WEBHOOK_URL="hooks.example.com/x", NOTIFY_WEBHOOK_SECRET="k"):
        assert ids(check_notifications()) == ["approvals.E013"]
    with override_settings(
        NOTIFY_WEBHOOK_URL="https://hooks.example.com/x", NOTIFY_WEBHOOK_SECRET=""
    ):
        assert ids(check_notifications()) == ["approvals.E013"]


def test_the_check_stops_every_command() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "approvals_site.settings",
        "EMAIL_HOST": "smtp.example.com",
        "APPROVALS_BASE_URL": "",
        "TRIGGER_API_URL": "https://api.trigger.dev",
        "TRIGGER_SECRET_KEY": "tr_prod_" + "A1b2C3d4E5f6G7h8I9j0K1l2",
        "DJANGO_SECRET_KEY": "test-secret-key-0123456789-abcdefghijklmnopqrstuv",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "approvals.E012" in done.stderr + done.stdout


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_a_channel_secret_is_write_only_and_blank_keeps_it(admin_client: Client) -> None:
    channel = Channel.objects.create(
        name="hook", kind=ChannelKind.WEBHOOK, target="https://h.example.com/x", secret="old-secret"
    )
    url = f"/admin/approvals/channel/{channel.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert "old-secret" not in page
    form = {"name": "hook", "kind": "webhook", "target": "https://h.example.com/y", "secret": "",
            "task_patterns": "", "active": "on"}  # fmt: skip
    assert admin_client.post(url, form).status_code == 302
    channel.refresh_from_db()
    assert (channel.target, channel.secret) == ("https://h.example.com/y", "old-secret")
    admin_client.post(url, {**form, "secret": "new-secret"})
    channel.refresh_from_db()
    assert channel.secret == "new-secret"


def test_a_webhook_without_a_secret_is_refused(admin_client: Client) -> None:
    form = {"name": "hook", "kind": "webhook", "target": "https://h.example.com/x", "secret": ""}
    page = admin_client.post("/admin/approvals/channel/add/", form)
    assert page.status_code == 200 and "needs a secret" in page.content.decode()
    assert not Channel.objects.exists()


def test_a_slack_url_is_never_shown_whole(admin_client: Client) -> None:
    channel = Channel.objects.create(name="slack", kind=ChannelKind.SLACK, target=SLACK_URL)
    listing = admin_client.get("/admin/approvals/channel/").content.decode()
    change = admin_client.get(f"/admin/approvals/channel/{channel.pk}/change/").content.decode()
    for page in (listing, change):
        assert "very-secret-part" not in page
        assert "hooks.slack.com/… (hidden)" in page
    form = {"name": "slack", "kind": "slack", "target": "", "task_patterns": "", "active": "on"}
    assert (
        admin_client.post(f"/admin/approvals/channel/{channel.pk}/change/", form).status_code == 302
    )
    channel.refresh_from_db()
    assert channel.target == SLACK_URL


def test_the_environment_channel_is_read_only_in_the_admin(
    admin_client: Client, settings: Any
) -> None:
    settings.NOTIFY_WEBHOOK_URL = "https://hooks.example.com/from-env"
    settings.NOTIFY_WEBHOOK_SECRET = "env-secret"
    environment.ensure_environment_channel()
    channel = Channel.objects.get(from_environment=True)
    url = f"/admin/approvals/channel/{channel.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert "env-secret" not in page and 'name="target"' not in page
    assert admin_client.post(url, {"name": "x", "kind": "webhook"}).status_code == 403


def test_send_again_puts_failed_messages_back_under_the_same_id(admin_client: Client) -> None:
    occurrence = Occurrence.objects.create(approval=make_approval(), event=Event.PENDING)
    row = Notification.objects.create(
        occurrence=occurrence, event=Event.PENDING, recipient_key="user:1", kind=ChannelKind.EMAIL,
        address="a@example.com", body="hello", status=DeliveryStatus.FAILED, attempts=9,
        last_error="the mail server answered 550",
    )  # fmt: skip
    listing = admin_client.get("/admin/approvals/notification/").content.decode()
    assert "the mail server answered 550" in listing
    answer = admin_client.post(
        "/admin/approvals/notification/",
        {"action": "send_again", "_selected_action": [row.pk]},
    )
    assert answer.status_code == 302
    before = row.delivery_id
    row.refresh_from_db()
    assert (row.status, row.delivery_id) == (DeliveryStatus.PENDING, before)


def test_send_a_test_message_reports_what_each_receiver_answered(admin_client: Client) -> None:
    answers = iter([204, 500])
    receiver = Receiver(answer=lambda request: next(answers)).start()
    try:
        good = Channel.objects.create(
            name="a-good", kind=ChannelKind.WEBHOOK, target=receiver.url, secret="k"
        )
        bad = Channel.objects.create(name="b-bad", kind=ChannelKind.SLACK, target=receiver.url)
        page = admin_client.post(
            "/admin/approvals/channel/",
            {"action": "send_test", "_selected_action": [good.pk, bad.pk]},
            follow=True,
        ).content.decode()
    finally:
        receiver.stop()
    assert "Channel “a-good”: the test message was taken." in page
    assert "Channel “b-bad”: the receiver answered HTTP 500." in page
    ping, slack = receiver.requests
    assert ping.headers["x-approvals-event"] == "ping"
    expected = "sha256=" + hmac.new(b"k", ping.body, hashlib.sha256).hexdigest()
    assert ping.headers["x-approvals-signature"] == expected
    assert json.loads(ping.body)["event"] == "ping" and "text" in json.loads(slack.body)
    assert not Notification.objects.exists()  # outside the outbox
