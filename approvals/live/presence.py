"""Who has an approval's page open (docs/live-updates.md, "Presence").

One ``Viewer`` row per open detail-page socket, in the database so that every web process
sees every other's viewers and a reload shows the same names as a push. A socket refreshes
its row every ``HEARTBEAT_SECONDS``; a row older than ``STALE_AFTER`` (its process died
without closing it) no longer counts and is swept by the next join. Joining and leaving raise
a ``presence`` event, like any other change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.events import Kind, approval_changed
from approvals.models import Approval, Viewer
from approvals.people import display_name

HEARTBEAT_SECONDS = 30.0
STALE_AFTER = timedelta(seconds=3 * HEARTBEAT_SECONDS)


def join(*, channel_name: str, approval: Approval, user: Any) -> None:
    now = timezone.now()
    with transaction.atomic():
        Viewer.objects.filter(seen_at__lt=now - STALE_AFTER).delete()
        Viewer.objects.update_or_create(
            channel_name=channel_name,
            defaults={"approval": approval, "user": user, "seen_at": now},
        )
        approval_changed(Kind.PRESENCE, approval_id=approval.pk, token_id=approval.token_id)


def leave(*, channel_name: str) -> None:
    with transaction.atomic():
        row = Viewer.objects.select_related("approval").filter(channel_name=channel_name).first()
        if row is None:
            return
        row.delete()
        approval = row.approval
        approval_changed(Kind.PRESENCE, approval_id=approval.pk, token_id=approval.token_id)


def heartbeat(*, channel_name: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        # A row that had gone stale (a heartbeat late by more than STALE_AFTER) counts again:
        # that is a change of who is viewing, like a join.
        revived = (
            Viewer.objects.select_related("approval")
            .filter(channel_name=channel_name, seen_at__lt=now - STALE_AFTER)
            .first()
        )
        Viewer.objects.filter(channel_name=channel_name).update(seen_at=now)
        if revived is not None:
            approval = revived.approval
            approval_changed(Kind.PRESENCE, approval_id=approval.pk, token_id=approval.token_id)


def viewing(approval_ids: Iterable[int]) -> dict[int, list[str]]:
    """The names of the people viewing each approval now (each name once, sorted)."""
    since = timezone.now() - STALE_AFTER
    rows = (
        Viewer.objects.filter(approval_id__in=list(approval_ids), seen_at__gte=since)
        .select_related("user")
        .order_by("user__username")
    )
    names: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        name = display_name(row.user)
        if name not in names[row.approval_id]:
            names[row.approval_id].append(name)
    return dict(names)
