"""Sending one outbox row: SMTP for email, an HTTPS POST for webhooks and Slack.

A send either returns (the receiver took it: SMTP accepted it, or HTTP answered 2xx) or raises
``SendFailed`` with words fit for the admin's "last error". Those words never hold a target
URL (Slack's is a secret, and a webhook's may carry a token) or a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import uuid
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils import timezone

from approvals.notify.models import Channel, ChannelKind, Notification

USER_AGENT = "approvals-dashboard-notifications/1"
# The event of a test message (the admin's "Send a test message"): not about any approval.
PING = "ping"


class SendFailed(Exception):
    """The receiver did not take the message; the text says why, without secrets."""


def signature(secret: str, body: bytes) -> str:
    """``X-Approvals-Signature``: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(row: Notification) -> None:
    if row.kind == ChannelKind.EMAIL:
        mail(
            row.address, row.subject, row.body, row.html, event=row.event, delivery=row.delivery_id
        )
    elif row.channel is None:
        raise SendFailed("its channel was removed")
    else:
        post(row.channel, row.body.encode(), event=row.event, delivery=row.delivery_id)


def send_test(channel: Channel) -> None:
    """A test message to ``channel`` now (the admin's "Send a test message"), outside the
    outbox: event ``ping``, a fresh delivery id, signed like every other."""
    delivery = uuid.uuid4()
    text = "A test message from the approval dashboard: this channel is set up."
    if channel.kind == ChannelKind.EMAIL:
        mail(channel.target, "Test message from the approval dashboard", text, "",
             event=PING, delivery=delivery)  # fmt: skip
        return
    if channel.kind == ChannelKind.SLACK:
        body: dict[str, Any] = {"text": text}
    else:
        body = {"id": str(delivery), "event": PING, "occurred_at": timezone.now().isoformat(),
                "message": text, "approval": None, "decision": None}  # fmt: skip
    post(channel, json.dumps(body).encode(), event=PING, delivery=delivery)


def mail(
    address: str, subject: str, text: str, html: str, *, event: str, delivery: uuid.UUID
) -> None:
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[address],
        headers={
            # The same on every retry: a mailbox (or a person) can tell a repeat.
            "Message-ID": f"<{delivery}@approvals.dashboard>",
            "X-Approvals-Event": event,
            "X-Approvals-Delivery": str(delivery),
        },
        connection=get_connection(timeout=settings.NOTIFY_TIMEOUT_SECONDS),
    )
    if html:
        message.attach_alternative(html, "text/html")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({code for code, _ in exc.recipients.values()})
        raise SendFailed(f"the mail server refused the recipient ({codes})") from None
    except smtplib.SMTPResponseException as exc:
        raise SendFailed(f"the mail server answered {exc.smtp_code}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailed(f"could not reach the mail server: {type(exc).__name__}") from None


def post(channel: Channel, body: bytes, *, event: str, delivery: uuid.UUID) -> None:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Approvals-Event": event,
        "X-Approvals-Delivery": str(delivery),
    }
    if channel.kind == ChannelKind.WEBHOOK and channel.secret:
        headers["X-Approvals-Signature"] = signature(channel.secret, body)
    try:
        response = httpx.post(
            channel.target,
            content=body,
            headers=headers,
            timeout=settings.NOTIFY_TIMEOUT_SECONDS,
            follow_redirects=False,  # a redirect is the receiver's mistake, not a new target
        )
    except httpx.TimeoutException:
        raise SendFailed(
            f"no answer within {settings.NOTIFY_TIMEOUT_SECONDS:g} s (timed out)"
        ) from None
    except (httpx.HTTPError, OSError, ValueError) as exc:
        raise SendFailed(f"could not reach the receiver: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise SendFailed(f"the receiver answered HTTP {response.status_code}")
