"""What a queue row shows, formatted once in Python for the ``queue-row`` partial.

The queue page and the live pushes render the same partial (approvals.live.fragments); both
pass it ``row_texts`` from here. Formatting in the template cost about 40 variable look-ups
and filter calls a row (a URL reversed twice, two truncations, four date formats): most of
the page's rendering time. The values are the same strings the filters made
(approval_tags), so the page reads as before.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.urls import get_script_prefix, reverse
from django.utils.text import Truncator, slugify
from django.utils.timezone import localtime

from approvals.models import Approval
from approvals.queries import trigger_run_url
from approvals.templatetags.approval_tags import age, countdown, expiring_soon, visible, when


@dataclass(frozen=True)
class RowText:
    """One approval's row, as text ready to escape (no value here is marked safe)."""

    detail_url: str
    task: str
    description: str
    pick_label: str  # the checkbox's accessible name
    run_id: str
    run_url: str
    requested_by: str
    created_iso: str
    created_title: str
    age: str
    expires_iso: str
    expires_title: str
    countdown: str
    soon: bool
    status_class: str
    status: str


def _iso(moment: datetime | None) -> str:
    # What the ``date:'c'`` filter wrote (its "c" is isoformat), in the current time zone.
    return localtime(moment).isoformat() if moment else ""


def _truncated(text: str, length: int) -> str:
    # What ``truncatechars`` gives; Truncator (a normalisation, a translated ellipsis) only
    # for the texts it could change: most descriptions are short and already NFC.
    if len(text) <= length and unicodedata.is_normalized("NFC", text):
        return text
    return Truncator(text).chars(length)


@functools.lru_cache(maxsize=8192)
def _detail_url(prefix: str, token_id: str) -> str:
    # Reversing a URL is the costliest step of a row; a token's URL never changes (keyed by
    # the script prefix too, which reverse() reads per request).
    return reverse("approval_detail", args=[token_id])


def row_text(approval: Approval) -> RowText:
    description = visible(approval.description)
    return RowText(
        detail_url=_detail_url(get_script_prefix(), approval.token_id),
        task=visible(approval.task_identifier) or "—",
        description=_truncated(description, 180) or "Approval required",
        pick_label=_truncated(description, 80),
        run_id=visible(approval.run_id),
        run_url=trigger_run_url(approval.run_id),
        requested_by=visible(approval.requested_by),
        created_iso=_iso(approval.created_at),
        created_title=when(approval.created_at),
        age=age(approval.created_at),
        expires_iso=_iso(approval.expires_at),
        expires_title=when(approval.expires_at),
        countdown=countdown(approval.expires_at),
        soon=expiring_soon(approval.expires_at),
        status_class=slugify(approval.run_status.lower()),
        status=visible(approval.run_status) or "unknown",
    )


def row_texts(approvals: Iterable[Approval]) -> dict[int, RowText]:
    return {approval.pk: row_text(approval) for approval in approvals}
