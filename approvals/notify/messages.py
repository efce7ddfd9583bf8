"""What each notification says: an email (plain text and HTML), a webhook's JSON, a Slack
message in Block Kit (docs/notifications.md, "Messages").

Built once, when the outbox row is written, and stored: a retry sends the very same bytes
(the webhook signature covers them) and the admin shows exactly what went out. Everything
from upstream (descriptions, task names, requesters) is untrusted: the HTML is escaped by
Django's templates, Slack's control characters are escaped, and the subject is one line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from approvals.invisible import escaped
from approvals.models import Approval, ApprovalPolicy, Decision, Verdict
from approvals.notify.models import Event

TITLE_MAX = 120
TEXT_MAX = 2000


def _one_line(text: str, limit: int) -> str:
    """One line, invisible and bidi characters shown as escapes, as the pages show them
    (approvals.invisible): a mail client must not render a description reversed."""
    line = " ".join(escaped(text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _clip(text: str, limit: int = TEXT_MAX) -> str:
    """Several lines (newlines and tabs kept), shortened, invisible characters escaped."""
    text = text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return escaped(text)


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "no expiry"


def page_url(approval: Approval, confirm: str | None = None) -> str:
    """The approval's page, absolute; ``confirm`` opens it on that verdict's form, which
    decides nothing until the signed-in reviewer presses its button (a POST with CSRF)."""
    url = settings.APPROVALS_BASE_URL + reverse("approval_detail", args=[approval.token_id])
    return f"{url}?{urlencode({'confirm': confirm})}" if confirm else url


def _duration(delay: timedelta | None) -> str:
    if delay is None:
        return ""
    minutes = int(delay.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


@dataclass(frozen=True)
class Facts:
    """What every kind of message tells, read once per occurrence."""

    event: str
    approval: Approval
    policy: ApprovalPolicy | None
    decision: Decision | None

    @property
    def title(self) -> str:
        text = self.approval.description or self.approval.task_identifier or self.approval.run_id
        return _one_line(text, TITLE_MAX)

    @property
    def verdict_word(self) -> str:
        if self.decision is None:
            return ""
        return "Approved" if self.decision.verdict == Verdict.APPROVE else "Rejected"

    @property
    def headline(self) -> str:
        """What happened, in a few words (the subject's start)."""
        event = self.event
        if event == Event.PENDING:
            return "Waiting for your decision"
        if event == Event.REMINDER:
            return f"Reminder: expires {when(self.approval.expires_at)}"
        if event == Event.ESCALATED:
            delay = _duration(self.policy.escalate_after if self.policy else None)
            return f"Escalated, undecided after {delay}" if delay else "Escalated"
        if event == Event.DECIDED:
            return f"{self.verdict_word} by {self.decided_by}"
        if event == Event.DELIVERY_FAILED:
            return "Decision not yet delivered to Trigger.dev"
        return "Expired without a decision"

    @property
    def decided_by(self) -> str:
        return _one_line(self.decision.actor_label, 200) if self.decision else ""

    @property
    def asks_for_decision(self) -> bool:
        return self.event in (Event.PENDING, Event.REMINDER, Event.ESCALATED)

    def context(self) -> dict[str, Any]:
        approval = self.approval
        return {
            "facts": self,
            "approval": approval,
            "title": self.title,
            "headline": self.headline,
            "description": _clip(approval.description),
            "task": _one_line(approval.task_identifier, 200),
            "requested_by": _one_line(approval.requested_by, 320),
            "expires": when(approval.expires_at),
            "policy": _one_line(self.policy.name, 200) if self.policy else "",
            "url": page_url(approval),
            "approve_url": page_url(approval, "approve"),
            "reject_url": page_url(approval, "reject"),
            "decision": self.decision,
            "decided_by": self.decided_by,
            "comment": _clip(self.decision.comment) if self.decision else "",
            "verdict_word": self.verdict_word,
            "preferences_url": settings.APPROVALS_BASE_URL + reverse("notification_settings"),
        }


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def email(facts: Facts) -> Email:
    context = facts.context()
    return Email(
        subject=_one_line(f"{facts.headline}: {facts.title}", 250),
        text=render_to_string("notify/email.txt", context),
        html=render_to_string("notify/email.html", context),
    )


def webhook_body(facts: Facts, *, delivery_id: str, occurred_at: datetime) -> str:
    """The JSON a webhook receives; its bytes are what X-Approvals-Signature signs."""
    approval, decision = facts.approval, facts.decision
    body: dict[str, Any] = {
        "id": delivery_id,
        "event": facts.event,
        "occurred_at": occurred_at.isoformat(),
        "approval": {
            "token_id": approval.token_id,
            "run_id": approval.run_id,
            "task": _one_line(approval.task_identifier, 200),
            "description": approval.description,
            "requested_by": approval.requested_by,
            "state": approval.state,
            "created_at": approval.created_at.isoformat(),
            "expires_at": approval.expires_at.isoformat() if approval.expires_at else None,
            "policy": facts.policy.name if facts.policy else None,
            "url": page_url(approval),
        },
        "decision": None,
    }
    if decision is not None:
        body["decision"] = {
            "verdict": decision.verdict,
            "by": decision.actor_label,
            "comment": decision.comment,
            "decided_at": decision.decided_at.isoformat(),
            "delivery_state": decision.delivery_state,
        }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _slack_text(text: str) -> str:
    """Slack's mrkdwn reads ``<...>`` as links and mentions (``<!channel>``): escape them."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(facts: Facts) -> str:
    """A Block Kit message: what it is, the facts, and a button to the approval's page."""
    context = facts.context()
    fields = [
        f"*Task*\n{_slack_text(context['task']) or '—'}",
        f"*Requested by*\n{_slack_text(context['requested_by']) or '—'}",
    ]
    if facts.asks_for_decision:
        fields.append(f"*Expires*\n{context['expires']}")
    if context["policy"]:
        fields.append(f"*Policy*\n{_slack_text(context['policy'])}")
    description = context["description"] or facts.title
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _one_line(facts.headline, 150)},
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _slack_text(_clip(description, 2900))},
            "fields": [{"type": "mrkdwn", "text": field} for field in fields],
        },
    ]  # fmt: skip
    if facts.decision is not None and context["comment"]:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "> " + _slack_text(context["comment"])},
            }
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open the approval"},
                    "url": context["url"],
                    **({"style": "primary"} if facts.asks_for_decision else {}),
                }
            ],
        }
    )
    fallback = _slack_text(f"{facts.headline}: {facts.title}")
    return json.dumps({"text": fallback, "blocks": blocks}, ensure_ascii=False)
