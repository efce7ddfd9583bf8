"""Filters for showing upstream data: pretty JSON, visible control characters, countdowns.

Every filter returns plain ``str`` (never ``SafeString``), so the template engine escapes
its output like any other variable: upstream text stays inert. The one exception is
``markdown_summary``, whose HTML approvals.presentation.markdown sanitises.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString

from approvals import addresses, people
from approvals.invisible import SHOWN_ESCAPED, escaped
from approvals.presentation import markdown, payload
from approvals.presentation.entered import entered_values
from approvals.queries import EXPIRING_SOON, trigger_run_url
from approvals.sync import NOTE_TEXT

register = template.Library()

# The characters ``visible`` shows as escapes: approvals.invisible.SHOWN_ESCAPED says which and why.
_INVISIBLE = SHOWN_ESCAPED


def _json_escape(match: re.Match[str]) -> str:
    # JSON has no \U escape: a character beyond the BMP (tag characters) is a surrogate pair.
    point = ord(match.group())
    if point <= 0xFFFF:
        return f"\\u{point:04x}"
    point -= 0x10000
    return f"\\u{0xD800 + (point >> 10):04x}\\u{0xDC00 + (point & 0x3FF):04x}"


@register.filter
def visible(value: Any) -> str:
    """``value`` as text with control, bidi and other invisible characters shown as ``\\uXXXX``
    (``\\UXXXXXXXX`` beyond the BMP)."""
    if value is None:
        return ""
    return escaped(str(value))


@register.filter
def unrecognised_requester(value: Any) -> bool:
    """Whether a non-empty ``requestedBy`` names no address or username we can tell: the
    self-approval rule cannot match such a requester, so the page says so."""
    return bool(value) and not addresses.named(str(value))


@register.filter
def pretty_json(value: Any) -> str:
    """Indented JSON for a ``<pre>``; non-ASCII text stays readable, invisible characters
    are written as JSON escapes (still valid JSON, now visible)."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return _INVISIBLE.sub(_json_escape, text)


def _span(seconds: float) -> str:
    seconds = int(abs(seconds))
    if seconds < 60:
        return "less than a minute"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@register.filter
def countdown(moment: datetime | None) -> str:
    """ "in 14 min", "expired 3 min ago" or "no expiry"."""
    if moment is None:
        return "no expiry"
    seconds = (moment - timezone.now()).total_seconds()
    return f"in {_span(seconds)}" if seconds > 0 else f"expired {_span(seconds)} ago"


@register.filter
def age(moment: datetime | None) -> str:
    """ "5 min ago"."""
    if moment is None:
        return ""
    return f"{_span((timezone.now() - moment).total_seconds())} ago"


def _zoned(moment: datetime, pattern: str) -> str:
    local = timezone.localtime(moment)
    return f"{local.day} {local:%b %Y, {pattern}} {local.tzname() or ''}".strip()


@register.filter
def when(moment: datetime | None) -> str:
    """An absolute time with its zone: "3 Dec 2026, 18:20 UTC"."""
    return _zoned(moment, "%H:%M") if moment is not None else ""


@register.filter
def when_seconds(moment: datetime | None) -> str:
    """The same, to the second, for the timeline: "3 Dec 2026, 18:20:05 UTC"."""
    return _zoned(moment, "%H:%M:%S") if moment is not None else ""


@register.filter
def actor(record: Any) -> str:
    """Who cast a vote or made a decision, named as everywhere else (approvals.people)."""
    return people.actor_name(record)


@register.filter
def earlier_votes(approval: Any) -> list[Any]:
    """The votes cast before the one that decided ``approval`` (an N-of-M policy's first
    approvals; an approval before a rejection), oldest first, from the history's prefetch."""
    decision = getattr(approval, "decision", None)
    if decision is None:
        return []
    return [vote for vote in approval.votes.all() if vote.actor_id != decision.actor_id]


@register.filter
def typed_values(envelope: Any) -> list[tuple[str, str]]:
    """The typed values a decision sent (its envelope), for the History page, which does not
    read the form's schema: labelled by their keys."""
    return entered_values(None, envelope)


@register.filter
def person(user: Any) -> str:
    """A user's one name on every page (approvals.people)."""
    return people.display_name(user)


@register.filter
def expiring_soon(moment: datetime | None) -> bool:
    """Whether ``moment`` is within the queue's "expiring soon" window (or already past)."""
    return moment is not None and moment - timezone.now() < EXPIRING_SOON


@register.filter
def has_passed(moment: datetime | None) -> bool:
    return moment is not None and moment <= timezone.now()


@register.filter
def run_url(run_id: str) -> str:
    """The run's page on Trigger.dev, or "" when ``TRIGGER_RUN_URL_TEMPLATE`` is unset."""
    return trigger_run_url(run_id)


@register.filter
def upstream_note_texts(notes: Any) -> list[str]:
    """What the sync changed to store this approval's upstream values, in words."""
    if not isinstance(notes, list):
        return []
    return [NOTE_TEXT[note] for note in notes if note in NOTE_TEXT]


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``mapping[key]``, or nothing: for per-row lookups (who is viewing each row)."""
    if isinstance(mapping, dict):
        return mapping.get(key)
    return None


# --- Readable requests: payloads as key/value trees, the Markdown summary --------------------


@register.filter
def readable(value: Any) -> payload.Node:
    """A JSON value as a bounded tree for ``approvals/_value.html``."""
    return payload.value_tree(value)


@register.filter
def without_announcements(metadata: Any) -> dict[str, Any]:
    """Run metadata without ``waitTokens``, which the page shows as the approval itself."""
    return payload.without_announcements(metadata)


@register.filter
def markdown_summary(text: Any) -> SafeString:
    """A task's Markdown summary as sanitised HTML: the only filter whose output is not
    escaped, because approvals.presentation.markdown allows nothing that can run or load."""
    return markdown.render_summary(text if isinstance(text, str) else "")
