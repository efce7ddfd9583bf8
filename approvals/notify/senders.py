"""Sending one outbox row: SMTP for email, an HTTPS POST for webhooks and Slack.

A send either returns (the receiver took it: SMTP accepted it, or HTTP answered 2xx) or raises
``SendFailed`` with words fit for the admin's "last error". Those words never hold a target
URL (Slack's is a secret, and a webhook's may carry a token) or a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib

import httpx
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from approvals.notify.models import ChannelKind, Notification

USER_AGENT = "approvals-dashboard-notifications/1"


class SendFailed(Exception):
    """The receiver did not take the message; the text says why, without secrets."""


def signature(secret: str, body: bytes) -> str:
    """``X-Approvals-Signature``: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(row: Notification) -> None:
    if row.kind == ChannelKind.EMAIL:
        _send_email(row)
    elif row.channel is None:
        raise SendFailed("its channel was removed")
    else:
        _post(row)


def _send_email(row: Notification) -> None:
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body,
        to=[row.address],
        headers={
            # The same on every retry: a mailbox (or a person) can tell a repeat.
            "Message-ID": f"<{row.delivery_id}@approvals.dashboard>",
            "X-Approvals-Event": row.event,
            "X-Approvals-Delivery": str(row.delivery_id),
        },
        connection=get_connection(timeout=settings.NOTIFY_TIMEOUT_SECONDS),
    )
    if row.html:
        message.attach_alternative(row.html, "text/html")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({code for code, _ in exc.recipients.values()})
        raise SendFailed(f"the mail server refused the recipient ({codes})") from None
    except smtplib.SMTPResponseException as exc:
        raise SendFailed(f"the mail server answered {exc.smtp_code}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailed(f"could not reach the mail server: {type(exc).__name__}") from None


def _post(row: Notification) -> None:
    channel = row.channel
    assert channel is not None
    body = row.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Approvals-Event": row.event,
        "X-Approvals-Delivery": str(row.delivery_id),
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
