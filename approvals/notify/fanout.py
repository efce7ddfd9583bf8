"""Occurrences become outbox rows: one per person to email and one per channel.

Run by the worker's leader (approvals.notify.outbox). Each occurrence is handled once, in one
transaction with its rows; the unique key (occurrence, recipient) keeps a repeat from writing
a second row. A pending, reminder or escalation occurrence whose approval has meanwhile left
the queue is closed without messages: nobody should be asked to decide what is settled.
"""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.utils import timezone

from approvals.models import Approval, ApprovalState, Decision
from approvals.notify import messages, recipients
from approvals.notify.environment import ensure_environment_channel
from approvals.notify.models import Channel, ChannelKind, Event, Notification, Occurrence

logger = logging.getLogger("approvals.notify")

_ASKING = {Event.PENDING, Event.REMINDER, Event.ESCALATED}


def fan_out_due(limit: int = 50) -> int:
    """Fan out the occurrences not yet handled, oldest first; how many were handled."""
    ensure_environment_channel()
    ids = list(
        Occurrence.objects.filter(fanned_out_at__isnull=True)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    audience = recipients.Audience()
    for pk in ids:
        try:
            fan_out(pk, audience)
        except Exception:
            logger.exception("notify: could not fan out occurrence %s", pk)
    return len(ids)


def fan_out(occurrence_pk: int, audience: recipients.Audience | None = None) -> int:
    """Write the outbox rows of one occurrence; how many were written."""
    with transaction.atomic():
        occurrence = (
            Occurrence.objects.select_for_update().select_related("approval").get(pk=occurrence_pk)
        )
        if occurrence.fanned_out_at is not None:
            return 0
        rows = _rows(occurrence, audience or recipients.Audience())
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        occurrence.fanned_out_at = timezone.now()
        occurrence.save(update_fields=["fanned_out_at"])
    if rows:
        logger.debug(
            "notify: %s for %s: %d message(s)",
            occurrence.event,
            occurrence.approval.token_id,
            len(rows),
        )
    return len(rows)


def _rows(occurrence: Occurrence, audience: recipients.Audience) -> list[Notification]:
    approval: Approval = occurrence.approval
    event = occurrence.event
    if event in _ASKING and approval.state != ApprovalState.PENDING:
        return []
    policy = audience.policy_of(approval)
    decision = Decision.objects.filter(approval=approval).select_related("actor").first()
    facts = messages.Facts(event=event, approval=approval, policy=policy, decision=decision)
    rows: list[Notification] = []
    people = audience.people(event, approval, policy)
    if people:
        mail = messages.email(facts)
        for user in people:
            rows.append(
                _row(occurrence, f"user:{user.pk}", kind=ChannelKind.EMAIL, user=user,
                     address=user.email, mail=mail)
            )  # fmt: skip
    for channel in audience.channels(event, approval, policy):
        rows.append(_channel_row(occurrence, channel, facts))
    return rows


def _row(occurrence: Occurrence, key: str, **fields: object) -> Notification:
    mail = fields.pop("mail", None)
    row = Notification(occurrence=occurrence, event=occurrence.event, recipient_key=key, **fields)
    if isinstance(mail, messages.Email):
        row.subject, row.body, row.html = mail.subject, mail.text, mail.html
    return row


def _channel_row(occurrence: Occurrence, channel: Channel, facts: messages.Facts) -> Notification:
    key = f"channel:{channel.pk}"
    if channel.kind == ChannelKind.EMAIL:
        return _row(occurrence, key, kind=ChannelKind.EMAIL, channel=channel,
                    address=channel.target, mail=messages.email(facts))  # fmt: skip
    delivery_id = uuid.uuid4()
    if channel.kind == ChannelKind.SLACK:
        body = messages.slack_body(facts)
    else:
        body = messages.webhook_body(
            facts, delivery_id=str(delivery_id), occurred_at=occurrence.created_at
        )
    return _row(occurrence, key, kind=channel.kind, channel=channel, delivery_id=delivery_id,
                body=body)  # fmt: skip
