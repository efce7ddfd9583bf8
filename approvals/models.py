"""The read model of pending approvals, the decisions made on them, and who may make them.

Trigger.dev is the source of truth for tokens and runs; ``Approval`` mirrors what the
dashboard needs so that pages never call upstream. ``Decision`` is both the audit log and
the outbox: a decision is recorded here first and delivered to Trigger.dev after commit.
"""

from __future__ import annotations

import fnmatch
import hashlib
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone


class ApprovalState(models.TextChoices):
    PENDING = "pending", "Pending"
    DECIDED = "decided", "Decided"
    COMPLETED_ELSEWHERE = "completed_elsewhere", "Completed elsewhere"
    TIMED_OUT = "timed_out", "Timed out"
    RUN_ENDED = "run_ended", "Run ended"
    GONE = "gone", "Token gone"


class Approval(models.Model):
    """One pending (or formerly pending) wait token, as last seen upstream."""

    token_id = models.CharField(max_length=100, unique=True)
    run_id = models.CharField(max_length=100, db_index=True)
    task_identifier = models.CharField(max_length=200, db_index=True, blank=True)
    run_status = models.CharField(max_length=40, blank=True)
    run_tags = models.JSONField(default=list, blank=True)
    token_tags = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    # The announcement's Markdown ``summary`` as sent (capped at limits.SUMMARY_MAX); rendered
    # and sanitised only when shown (approvals.presentation.markdown).
    summary = models.TextField(blank=True, default="")
    payload = models.JSONField(null=True, blank=True)
    context = models.JSONField(null=True, blank=True)
    run_metadata = models.JSONField(default=dict, blank=True)
    form_schema = models.JSONField(null=True, blank=True)
    requested_by = models.CharField(max_length=320, blank=True)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    run_created_at = models.DateTimeField(null=True, blank=True)
    run_updated_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=30, choices=ApprovalState.choices, default=ApprovalState.PENDING, db_index=True
    )
    closed_reason = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # What the sync had to change to store upstream values (approvals.sync.NOTE_TEXT): NaN
    # shown as null, parts too deep or too large. The detail page says so.
    upstream_notes = models.JSONField(default=list, blank=True)
    # Lower-cased description, ids and payload text, so search is one indexed-table scan.
    search_text = models.TextField(blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    synced_at = models.DateTimeField(default=timezone.now)
    # The run after its decision was delivered, followed to its end (docs/live-updates.md,
    # "Following the run"): when it left its parked status, when it finished and with what.
    run_resumed_at = models.DateTimeField(null=True, blank=True)
    run_finished_at = models.DateTimeField(null=True, blank=True)
    run_output = models.JSONField(null=True, blank=True)
    run_error = models.JSONField(null=True, blank=True)
    # Set when Trigger.dev had accepted the decision but the run had still not resumed after
    # APPROVAL_RUN_RESUME_SECONDS (a run-engine fault Trigger.dev has had).
    run_stuck_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["expires_at", "-created_at"]
        indexes = [
            models.Index(fields=["state", "expires_at"]),
            models.Index(fields=["state", "-created_at"]),
        ]
        permissions = [("decide_approval", "Can approve or reject pending approvals")]

    def __str__(self) -> str:
        return f"{self.task_identifier or 'run'} {self.run_id} ({self.token_id})"

    @property
    def is_pending(self) -> bool:
        return self.state == ApprovalState.PENDING

    @property
    def run_is_stuck(self) -> bool:
        """Flagged as not resuming, and still not resumed."""
        return (
            self.run_stuck_at is not None
            and self.run_resumed_at is None
            and self.run_finished_at is None
        )


class SyncMark(models.Model):
    """When the sync worker last did something any worker may rely on, by name: the last full
    reconcile's start (``FULL_RECONCILE``). A worker starting right after another pass
    (``sync_approvals --once``, a restart) then need not list the whole queue again at once
    (docs/design.md, "Upstream budget")."""

    FULL_RECONCILE = "full_reconcile"

    name = models.CharField(max_length=50, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"


class ChangeCounter(models.Model):
    """One row whose number moves, after commit, whenever anything a reviewer's queue page
    shows may have changed: any approval event, and any change of policies, people or rights.
    The web processes key their rendered queue pages on it (approvals.changes,
    docs/design.md, "The queue page's cache")."""

    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"change {self.value}"


class Viewer(models.Model):
    """Someone with an approval's page open: one row per websocket (docs/live-updates.md,
    "Presence"). Rows are refreshed while the socket lives and deleted when it closes; a row
    whose process died ages out (``seen_at``)."""

    channel_name = models.CharField(max_length=200, unique=True)
    approval = models.ForeignKey(Approval, on_delete=models.CASCADE, related_name="viewers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.user} viewing {self.approval_id}"


class Verdict(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class ThroughToken(models.Model):
    """Which API token a vote or decision was made with, and who had issued it.

    Kept as text too (hint, issuer's name), so that deleting the token or the issuer's account
    leaves the audit log whole. Empty: made signed in, without a token.
    """

    api_token = models.ForeignKey(
        "ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_token_hint = models.CharField(max_length=16, blank=True)
    token_issued_by = models.CharField(
        "token issued by",
        max_length=150,
        blank=True,
        help_text="Username of whoever issued the API token used, or “command line”",
    )
    actor_name: str  # defined by each model, with its own verbose name

    class Meta:
        abstract = True

    @property
    def via_token_of_another(self) -> bool:
        """Made with an API token that someone other than the actor issued. Both names are
        taken at the same moment, so a later rename changes neither side."""
        return bool(self.token_issued_by) and self.token_issued_by != self.actor_name

    @property
    def through(self) -> str:
        """How the audit log says it was made; flagged when the token was someone else's."""
        if not self.token_issued_by:
            return "signed in (no API token)"
        text = f"API token {self.api_token_hint}… issued by {self.token_issued_by}"
        return f"⚠ {text} (not the actor)" if self.via_token_of_another else text


class Vote(ThroughToken):
    """One reviewer's verdict. With N-of-M policies several approve votes precede a decision."""

    approval = models.ForeignKey(Approval, on_delete=models.PROTECT, related_name="votes")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Who voted as they were named then: renaming the account must not rewrite the record.
    actor_name = models.CharField("actor's username then", max_length=150, blank=True)
    actor_email = models.CharField("actor's email then", max_length=254, blank=True)
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    comment = models.TextField(blank=True)
    fields = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["approval", "actor"], name="one_vote_per_reviewer")
        ]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.verdict} {self.approval.token_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        _snapshot_actor(self)
        super().save(*args, **kwargs)


def _snapshot_actor(row: Vote | Decision) -> None:
    """Name the actor as they are now, unless the row already does (the decision service
    always does; this keeps every other way of writing a row from leaving it blank)."""
    if not row.actor_name and row.actor_id is not None:
        row.actor_name = row.actor.get_username()
        row.actor_email = (row.actor.email or "").strip()


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Waiting to be delivered"
    DELIVERED = "delivered", "Delivered"
    COMPLETED_ELSEWHERE = "completed_elsewhere", "Token was completed elsewhere first"
    TOKEN_GONE = "token_gone", "Token no longer exists"


class Decision(ThroughToken):
    """The final verdict on an approval: the audit log and the delivery outbox.

    Never edited through the UI or the admin; only delivery bookkeeping changes.
    """

    approval = models.OneToOneField(Approval, on_delete=models.PROTECT, related_name="decision")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The audit log names the actor as they were at the decision (a rename rewrites nothing).
    actor_name = models.CharField("actor's username then", max_length=150, blank=True)
    actor_email = models.CharField("actor's email then", max_length=254, blank=True)
    # The API token it came through, if any: see ``ThroughToken``.
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    comment = models.TextField(blank=True)
    # Exactly what is (or will be) sent as the token's output.
    envelope = models.JSONField()
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    decided_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivery_state = models.CharField(
        max_length=30, choices=DeliveryState.choices, default=DeliveryState.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # What the token held when it turned out to be completed elsewhere (or timed out).
    upstream_output = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-decided_at"]

    def __str__(self) -> str:
        return f"{self.verdict} {self.approval.token_id} by {self.actor_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        _snapshot_actor(self)
        super().save(*args, **kwargs)

    @property
    def actor_label(self) -> str:
        """The actor as named at the decision (email, else username)."""
        return self.actor_email or self.actor_name


class ApprovalPolicy(models.Model):
    """Who may decide which approvals, and how many approvals it takes."""

    name = models.CharField(max_length=200)
    task_pattern = models.CharField(
        max_length=200,
        blank=True,
        help_text="Task identifier pattern, e.g. deploy-* (blank: any task)",
    )
    tag = models.CharField(
        max_length=128, blank=True, help_text="Run tag that selects this policy (blank: any)"
    )
    # Explicit, not inferred from the groups: deleting a policy's last group must never turn
    # "finance only" into "any reviewer". Restricted with no group left refuses everyone
    # until an admin fixes the policy (docs/hardening.md, "Policies never widen").
    restrict_to_groups = models.BooleanField(
        "only the listed groups may decide",
        default=False,
        help_text="Off: any reviewer may decide. On: only members of the groups below.",
    )
    approver_groups = models.ManyToManyField(
        Group, blank=True, help_text="Whose members may decide, when restricted to groups"
    )
    approvals_required = models.PositiveSmallIntegerField(default=1)
    allow_self_approval = models.BooleanField(default=False)
    require_comment = models.BooleanField(default=False)
    priority = models.IntegerField(default=100, help_text="Lower numbers are checked first")
    # Escalation (docs/notifications.md, "Events"): still undecided this long after it
    # appeared, the approval is mailed to this group's members, whatever their own choices.
    escalate_after = models.DurationField(
        null=True,
        blank=True,
        help_text="Escalate if undecided this long after it appeared (e.g. 4:00:00)",
    )
    escalation_group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who hears of an escalation",
    )

    class Meta:
        ordering = ["priority", "id"]
        verbose_name_plural = "approval policies"

    def __str__(self) -> str:
        return self.name

    def matches(self, *, task_identifier: str, tags: list[Any]) -> bool:
        if self.task_pattern and not fnmatch.fnmatchcase(task_identifier, self.task_pattern):
            return False
        return not self.tag or self.tag in tags


def hash_api_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the JSON API, stored hashed; the raw value is shown once."""

    PREFIX = "apr_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    # Who made it: only superusers may issue tokens for someone else. Null: issued with
    # `manage.py create_api_token` (by whoever runs commands on the server), made before
    # issuers were recorded, or the issuer's account was deleted; ``issuer_name`` tells which.
    # SET_NULL, not PROTECT: a token must not keep a departed admin's account alive.
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    # The issuer as named at issue (or COMMAND_LINE); blank only on tokens from before.
    issuer_name = models.CharField(
        "issued by (name then)", max_length=150, blank=True, editable=False
    )
    name = models.CharField(max_length=200, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=16, editable=False, help_text="The token's first characters")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.hint}… ({self.user})"

    @classmethod
    def issue(cls, *, user: Any, name: str = "", issued_by: Any = None) -> tuple[ApiToken, str]:
        """A saved token and its raw value. ``issued_by`` None: from the command line."""
        token = cls(user=user, name=name)
        token.record_issuer(issued_by)
        raw = token.set_new_secret()
        token.save()
        return token, raw

    def record_issuer(self, issuer: Any) -> None:
        """Before the first save: who issues this token (``None``: the command line)."""
        self.issued_by = issuer
        self.issuer_name = issuer.get_username() if issuer is not None else COMMAND_LINE

    def set_new_secret(self) -> str:
        """Give this (unsaved) token a fresh secret; returns the raw value, kept nowhere."""
        raw = self.PREFIX + secrets.token_urlsafe(32)
        self.token_hash = hash_api_token(raw)
        self.hint = raw[:10]
        return raw

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def issuer_label(self) -> str:
        """The issuer's username now; once their account is gone, as named at issue."""
        if self.issued_by is not None:
            return self.issued_by.get_username()
        return self.issuer_name or UNKNOWN_ISSUER


# How the audit log names the issuer of a token made with `manage.py create_api_token`, and of
# one made before issuers were recorded (which may well have come from the admin: it must not
# pass for the command line's). Neither can be a username: Django's have no spaces.
COMMAND_LINE = "command line"
UNKNOWN_ISSUER = "unknown (issued before issuers were recorded)"


class SsoIdentity(models.Model):
    """Who a user is at a single sign-on source: the OIDC issuer and the subject (``sub``)
    it gives them, or the trusted proxy and the name its header carries.

    Users are found by this, not by username: a provider may let people change their
    preferred username, and a new person given an old name must not inherit an account
    (docs/sso.md, "Accounts and groups")."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identities"
    )
    source = models.CharField(max_length=500, help_text="The OIDC issuer, or 'proxy'")
    subject = models.CharField(max_length=255)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "subject"], name="one_user_per_sso_subject")
        ]
        verbose_name = "SSO identity"
        verbose_name_plural = "SSO identities"

    def __str__(self) -> str:
        return f"{self.subject} at {self.source}"


# The notification tables live in their own module (approvals.notify); importing them here is
# what makes them models of this app.
from approvals.notify.models import (  # noqa: E402
    Channel,
    Notification,
    Occurrence,
    Preferences,
)

__all__ = [
    "ApiToken", "Approval", "ApprovalPolicy", "Channel", "Decision", "Notification",
    "Occurrence", "Preferences", "SsoIdentity", "SyncMark", "Viewer", "Vote",
]  # fmt: skip
