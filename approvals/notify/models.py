"""The notification tables: channels, each person's choices, occurrences and the outbox.

Imported by ``approvals.models`` so Django sees them as the ``approvals`` app's models.
"""

from __future__ import annotations

import fnmatch
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Event(models.TextChoices):
    """What a notification is about (docs/notifications.md, "Events")."""

    PENDING = "approval.pending", "A new approval waits"
    REMINDER = "approval.reminder", "Reminder before expiry"
    ESCALATED = "approval.escalated", "Escalated: undecided for too long"
    DECIDED = "approval.decided", "Decided"
    DELIVERY_FAILED = "approval.delivery_failed", "A decision could not be delivered"
    EXPIRED = "approval.expired", "Expired without a decision"


class ChannelKind(models.TextChoices):
    WEBHOOK = "webhook", "Webhook (signed JSON POST)"
    SLACK = "slack", "Slack (incoming webhook)"
    EMAIL = "email", "Email"


class Channel(models.Model):
    """A place every matching event goes to, whoever may decide: a webhook, a Slack channel
    or a shared mailbox. People hear about approvals by email without a channel."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=ChannelKind.choices)
    # A URL for webhooks and Slack, an address for email. Slack's URL is itself a secret:
    # the admin never shows it whole, and logs name the channel, never its target.
    target = models.CharField(max_length=2000)
    secret = models.CharField(
        max_length=500, blank=True, help_text="Webhooks: the key of X-Approvals-Signature"
    )
    events = models.JSONField(
        default=list, blank=True, help_text="Which events; none ticked means all of them"
    )
    policies = models.ManyToManyField(
        "approvals.ApprovalPolicy",
        blank=True,
        help_text="Only approvals under these policies (none: any policy, or none)",
    )
    task_patterns = models.CharField(
        max_length=1000,
        blank=True,
        help_text="Only these tasks, e.g. deploy-* (space-separated; blank: any)",
    )
    active = models.BooleanField(default=True)
    # The quick-start channel from NOTIFY_WEBHOOK_URL / NOTIFY_WEBHOOK_SECRET: kept in step
    # with the environment by approvals.notify.environment, not edited in the admin.
    from_environment = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = "notification channel"

    def __str__(self) -> str:
        return self.name

    def hears(self, event: str) -> bool:
        return not self.events or event in self.events

    def covers_task(self, task_identifier: str) -> bool:
        patterns = self.task_patterns.split()
        return not patterns or any(fnmatch.fnmatchcase(task_identifier, p) for p in patterns)


class Preferences(models.Model):
    """Which emails one person gets. Escalations sent to them as a policy's escalation group
    come whatever they chose here: that is what escalating means."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_choices"
    )
    email_pending = models.BooleanField("new approvals I may decide", default=True)
    email_reminder = models.BooleanField("reminders before they expire", default=True)
    email_decided = models.BooleanField("decisions on runs I requested", default=True)
    email_expired = models.BooleanField("my requests that expired", default=True)
    email_delivery_failed = models.BooleanField(
        "decisions that could not be delivered (admins)", default=True
    )

    class Meta:
        verbose_name = "notification preferences"
        verbose_name_plural = "notification preferences"

    def __str__(self) -> str:
        return f"notification preferences of {self.user}"

    def wants(self, event: str) -> bool:
        field = "email_" + event.removeprefix("approval.")
        return bool(getattr(self, field, True))


class Occurrence(models.Model):
    """One event that happened to one approval, once: the unique key makes the change event,
    the worker's sweep and a restarted worker agree on what has been announced."""

    approval = models.ForeignKey(
        "approvals.Approval", on_delete=models.CASCADE, related_name="notification_events"
    )
    event = models.CharField(max_length=40, choices=Event.choices)
    created_at = models.DateTimeField(default=timezone.now)
    # Set once its deliveries are written (approvals.notify.fanout); null: still to do.
    fanned_out_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["approval", "event"], name="one_occurrence_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.approval_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (gave up)"
    CANCELLED = "cancelled", "Cancelled (channel removed or turned off)"


class Notification(models.Model):
    """One message to one recipient: the outbox row. The message is built once, when the row
    is written, so every retry sends the same bytes under the same delivery id."""

    occurrence = models.ForeignKey(Occurrence, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=Event.choices)
    # "user:<id>" or "channel:<id>": with the occurrence, unique (no duplicates from our side).
    recipient_key = models.CharField(max_length=60)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # SET_NULL: deleting a channel keeps the record of what was sent to it; whatever it had
    # not sent yet is cancelled (approvals.notify.outbox).
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    kind = models.CharField(max_length=20, choices=ChannelKind.choices)
    address = models.CharField(max_length=320, blank=True, help_text="Email: the recipient")
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(help_text="Email: the plain text; webhooks and Slack: the JSON sent")
    html = models.TextField(blank=True)
    status = models.CharField(
        max_length=20,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
        db_index=True,
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A row being sent is leased: if the worker dies mid-send, it is due again afterwards.
    leased_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["occurrence", "recipient_key"], name="one_notification_per_recipient"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} to {self.recipient_label}"

    @property
    def recipient_label(self) -> str:
        if self.channel_id is not None and self.channel is not None:
            return f"channel {self.channel.name}"
        if self.kind != ChannelKind.EMAIL or self.recipient_key.startswith("channel:"):
            return "a channel since removed"
        return self.address
