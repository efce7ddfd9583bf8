"""Each person's notification settings at /settings/notifications/: which emails they get, the
notes that say when none can reach them, and the last emails written to them."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from approvals.models import ApprovalPolicy
from approvals.notify.models import (
    ChannelKind,
    DeliveryStatus,
    Event,
    Notification,
    Occurrence,
    Preferences,
)
from tests.factories import make_approval

URL = "/settings/notifications/"
FOR_EVERYONE = ["email_pending", "email_reminder", "email_decided", "email_expired"]
ADMINS_ONLY = "email_delivery_failed"

pytestmark = pytest.mark.django_db


class _Boxes(HTMLParser):
    """The page's checkboxes: name -> ticked."""

    def __init__(self) -> None:
        super().__init__()
        self.ticked: dict[str, bool] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") == "checkbox" and found.get("name"):
            self.ticked[str(found["name"])] = "checked" in found


def boxes(html: str) -> dict[str, bool]:
    parser = _Boxes()
    parser.feed(html)
    return parser.ticked


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def email_to(
    user: Any, *, subject: str = "Waiting for your decision: Deploy", **fields: Any
) -> Any:
    """One outbox row for ``user``, about a new approval of its own."""
    occurrence = Occurrence.objects.create(approval=make_approval(), event=Event.PENDING)
    values: dict[str, Any] = {
        "occurrence": occurrence,
        "event": Event.PENDING,
        "recipient_key": f"user:{user.pk}",
        "user": user,
        "kind": ChannelKind.EMAIL,
        "address": user.email,
        "subject": subject,
        "body": f"{subject}\n\nOpen the approval: http://127.0.0.1:8000/approvals/x/\n",
        "status": DeliveryStatus.SENT,
        "sent_at": timezone.now(),
    }
    values.update(fields)
    return Notification.objects.create(**values)


# --- Signing in ------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in_and_back(client: Client, reviewer: Any) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"
    signed = client.post(response["Location"], {"username": "rita", "password": "pw-rita-1234"})
    assert signed.status_code == 302
    assert signed["Location"] == URL
    page = client.get(URL)
    assert page.status_code == 200
    assert "<legend>Email me about</legend>" in page.content.decode()


def test_an_anonymous_post_changes_nothing(client: Client, reviewer: Any) -> None:
    response = client.post(URL, {"email_pending": "on"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Preferences.objects.exists()


# --- Choices -----------------------------------------------------------------------------------


def test_a_first_visit_shows_every_email_on_and_writes_nothing(reviewer: Any) -> None:
    page = signed_in(reviewer).get(URL).content.decode()
    assert boxes(page) == dict.fromkeys(FOR_EVERYONE, True)
    assert "New approvals I may decide" in page
    assert "Reminders before they expire" in page
    assert not Preferences.objects.exists()


def test_each_choice_has_a_label_and_help_the_box_points_at(reviewer: Any) -> None:
    page = signed_in(reviewer).get(URL).content.decode()
    for name in FOR_EVERYONE:
        assert f'<label for="id_{name}">' in page
        assert f'id="id_{name}_helptext"' in page
        assert f'aria-describedby="id_{name}_helptext"' in page


def test_saving_choices_keeps_them_and_the_page_shows_them_again(reviewer: Any) -> None:
    rita = signed_in(reviewer)
    response = rita.post(URL, {"email_pending": "on", "email_decided": "on"})
    assert response.status_code == 302
    assert response["Location"] == URL
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Your notification choices are saved."
    ]
    saved = Preferences.objects.get(user=reviewer)
    assert (saved.email_pending, saved.email_reminder) == (True, False)
    assert (saved.email_decided, saved.email_expired) == (True, False)
    assert boxes(rita.get(URL).content.decode()) == {
        "email_pending": True,
        "email_reminder": False,
        "email_decided": True,
        "email_expired": False,
    }

    rita.post(URL, {"email_reminder": "on", "email_expired": "on"})
    assert boxes(rita.get(URL).content.decode()) == {
        "email_pending": False,
        "email_reminder": True,
        "email_decided": False,
        "email_expired": True,
    }
    assert Preferences.objects.filter(user=reviewer).count() == 1


def test_the_form_carries_a_csrf_token_and_a_post_without_one_is_refused(reviewer: Any) -> None:
    rita = Client(enforce_csrf_checks=True)
    rita.force_login(reviewer)
    page = rita.get(URL).content.decode()
    assert 'name="csrfmiddlewaretoken"' in page
    refused = rita.post(URL, {})  # would turn every email off
    assert refused.status_code == 403
    assert not Preferences.objects.exists()
    token = rita.cookies["csrftoken"].value
    assert rita.post(URL, {"csrfmiddlewaretoken": token}).status_code == 302
    assert not Preferences.objects.get(user=reviewer).email_pending


def test_someone_who_is_not_an_admin_is_not_offered_the_admins_choice(reviewer: Any) -> None:
    Preferences.objects.create(user=reviewer, email_delivery_failed=False)
    rita = signed_in(reviewer)
    page = rita.get(URL).content.decode()
    assert ADMINS_ONLY not in page
    assert "could not be delivered" not in page
    # Even sent by hand, the box is not theirs to tick (and saving leaves it as it was).
    rita.post(URL, {"email_pending": "on", ADMINS_ONLY: "on"})
    assert Preferences.objects.get(user=reviewer).email_delivery_failed is False


def test_an_admin_may_turn_off_undelivered_decisions(admin_user: Any) -> None:
    ada = signed_in(admin_user)
    page = ada.get(URL).content.decode()
    assert boxes(page)[ADMINS_ONLY] is True
    assert "Decisions that could not be delivered" in page
    assert "Only administrators get these." in page
    ada.post(URL, dict.fromkeys(FOR_EVERYONE, "on"))
    saved = Preferences.objects.get(user=admin_user)
    assert saved.email_delivery_failed is False
    assert saved.email_pending is True
    assert boxes(ada.get(URL).content.decode())[ADMINS_ONLY] is False


def test_the_reminder_help_says_when_reminders_come(reviewer: Any, settings: Any) -> None:
    settings.NOTIFY_REMINDER_MINUTES = 90
    assert (
        "still waiting 90 minutes before it expires"
        in signed_in(reviewer).get(URL).content.decode()
    )
    settings.NOTIFY_REMINDER_MINUTES = 0
    assert "sends no reminders at present" in signed_in(reviewer).get(URL).content.decode()


# --- Notes -------------------------------------------------------------------------------------


def test_escalations_are_said_to_arrive_whatever_the_choices(reviewer: Any) -> None:
    page = signed_in(reviewer).get(URL).content.decode()
    assert "Escalations always arrive." in page
    assert "You are in the escalation group of" not in page


def test_the_policies_that_escalate_to_ones_group_are_named(reviewer: Any) -> None:
    on_call = Group.objects.create(name="On call")
    reviewer.groups.add(on_call)
    for name in ("Refunds", "Production deploys"):
        ApprovalPolicy.objects.create(
            name=name, escalate_after=timedelta(hours=4), escalation_group=on_call
        )
    ApprovalPolicy.objects.create(name="Not escalating", escalation_group=on_call)
    ApprovalPolicy.objects.create(
        name="Someone else's",
        escalate_after=timedelta(hours=1),
        escalation_group=Group.objects.create(name="Ops"),
    )
    page = signed_in(reviewer).get(URL).content.decode()
    assert (
        "You are in the escalation group of <bdi>Production deploys</bdi>, <bdi>Refunds</bdi>."
        in page
    )
    assert "Not escalating" not in page
    assert "Someone else" not in page


def test_an_account_without_an_address_is_told_no_email_can_reach_it(db: None) -> None:
    nobody = User.objects.create_user("noaddress", "", "pw-noaddress-1234")
    page = signed_in(nobody).get(URL).content.decode()
    assert 'data-note="no-address"' in page
    assert "Your account has no email address," in page
    assert "at <bdi>" not in page


def test_an_account_with_an_address_sees_it_and_no_such_note(reviewer: Any) -> None:
    page = signed_in(reviewer).get(URL).content.decode()
    assert "at <bdi>rita@example.com</bdi>" in page
    assert 'data-note="no-address"' not in page


def test_the_page_says_when_email_is_off(reviewer: Any, settings: Any) -> None:
    settings.NOTIFY_EMAIL = False
    page = signed_in(reviewer).get(URL).content.decode()
    assert "Email is turned off on this dashboard:" in page
    settings.NOTIFY_EMAIL = True
    assert 'data-note="email-off"' not in signed_in(reviewer).get(URL).content.decode()


def test_with_email_on_the_console_the_list_is_where_to_read_it(
    reviewer: Any, settings: Any
) -> None:
    settings.NOTIFY_EMAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    page = signed_in(reviewer).get(URL).content.decode()
    assert "this list is where you read yours" in page
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert "this list is where you read yours" not in signed_in(reviewer).get(URL).content.decode()


# --- Recent emails -----------------------------------------------------------------------------


def test_recent_emails_are_ones_own_newest_first_ten_at_most(
    reviewer: Any, second_reviewer: Any
) -> None:
    now = timezone.now()
    for n in range(12):
        email_to(
            reviewer, subject=f"Mail number {n:02d} for Rita", created_at=now - timedelta(minutes=n)
        )
    email_to(second_reviewer, subject="Sam's own mail")
    page = signed_in(reviewer).get(URL).content.decode()
    shown = [n for n in range(12) if f"Mail number {n:02d} for Rita" in page]
    assert shown == list(range(10))
    assert page.index("Mail number 00") < page.index("Mail number 09")
    assert "Sam's own mail" not in page
    assert "Sam&#x27;s own mail" not in page


def test_an_email_shows_its_status_address_text_and_approval(reviewer: Any) -> None:
    mail = email_to(reviewer, subject="Waiting for your decision: Rotate keys")
    page = signed_in(reviewer).get(URL).content.decode()
    assert "Waiting for your decision: Rotate keys" in page
    assert '<span class="mail-status mail-status-sent">Sent</span>' in page
    assert "· to <bdi>rita@example.com</bdi>" in page
    assert "<summary>Text of the email</summary>" in page
    assert "Open the approval: http://127.0.0.1:8000/approvals/x/" in page
    assert f'href="/approvals/{mail.occurrence.approval.token_id}/"' in page


def test_an_email_not_sent_yet_shows_its_last_error(reviewer: Any) -> None:
    email_to(
        reviewer,
        status=DeliveryStatus.PENDING,
        sent_at=None,
        attempts=3,
        last_error="SMTP 451: try again later",
    )
    email_to(
        reviewer,
        subject="Expired without a decision: Deploy",
        status=DeliveryStatus.FAILED,
        sent_at=None,
        last_error="SMTP 550: no such mailbox",
    )
    page = signed_in(reviewer).get(URL).content.decode()
    assert '<span class="mail-status mail-status-pending">Waiting to be sent</span>' in page
    assert "· 3 attempts" in page
    assert '<p class="mail-error">Last error: SMTP 451: try again later</p>' in page
    assert '<span class="mail-status mail-status-failed">Failed (gave up)</span>' in page
    assert "Last error: SMTP 550: no such mailbox" in page


def test_hostile_text_in_an_email_is_shown_as_text(reviewer: Any) -> None:
    email_to(
        reviewer,
        subject='<script>alert("subject")</script>',
        body='<img src=x onerror=alert("body")>\nDeploy \u202egnp.exe',
        status=DeliveryStatus.PENDING,
        last_error="<b>boom</b>",
    )
    page = signed_in(reviewer).get(URL).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;subject&quot;)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(&quot;body&quot;)&gt;" in page
    assert "<b>boom</b>" not in page
    assert "&lt;b&gt;boom&lt;/b&gt;" in page
    assert "\u202e" not in page
    assert "Deploy \\u202egnp.exe" in page


def test_without_emails_the_list_says_so(reviewer: Any) -> None:
    page = signed_in(reviewer).get(URL).content.decode()
    assert "Recent emails to you" in page
    assert "No email has been written to you yet." in page


# --- The way there -----------------------------------------------------------------------------


def test_every_page_links_to_it_and_marks_it_when_on_it(reviewer: Any) -> None:
    rita = signed_in(reviewer)
    assert f'<a href="{URL}">Notifications</a>' in rita.get("/").content.decode()
    assert (
        f'<a href="{URL}" aria-current="page">Notifications</a>' in rita.get(URL).content.decode()
    )
