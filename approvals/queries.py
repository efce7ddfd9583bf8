"""Read-only queries behind the pages: the queue, the history and a run's other tokens.

Everything here reads the database only; pages never call Trigger.dev (docs/design.md, "Read
model"). The queue defers the large JSON columns so that a page of 25 rows costs the same
whether a payload is 100 bytes or 1 MB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from approvals.models import Approval, ApprovalState, Decision, Vote

PAGE_SIZE = 25
# "Expiring soon" in the queue's filter.
EXPIRING_SOON = timedelta(hours=1)
# Columns the queue and history tables never show; some hold whole payloads.
_HEAVY_COLUMNS = ("payload", "context", "run_metadata", "form_schema", "search_text")

# How long the queue's task menu may be stale.
FACETS_CACHE_SECONDS = 15
_TASKS_CACHE_KEY = "approvals:queue-facets:tasks"

ORDER_TIME_LEFT = "expiry"
ORDER_NEWEST = "newest"


@dataclass(frozen=True)
class QueueFilters:
    q: str = ""
    task: str = ""
    tag: str = ""
    run_status: str = ""
    expiring_soon: bool = False
    order: str = ORDER_TIME_LEFT


@dataclass(frozen=True)
class HistoryFilters:
    verdict: str = ""
    reviewer: str = ""
    delivery: str = ""
    task: str = ""
    state: str = ""


def _with_tag(approvals: QuerySet[Approval], tag: str) -> QuerySet[Approval]:
    """Rows whose run carries ``tag``.

    PostgreSQL answers JSON containment with an index-friendly operator; SQLite (the
    embedded default) cannot, so there the tag lists are read and matched in Python.
    """
    if connection.features.supports_json_field_contains:
        return approvals.filter(run_tags__contains=[tag])
    ids = [pk for pk, tags in approvals.values_list("pk", "run_tags") if tag in (tags or [])]
    return approvals.filter(pk__in=ids)


def _search(approvals: QuerySet[Approval], q: str) -> QuerySet[Approval]:
    # search_text is stored lower-cased; exact ids also match rows whose text is missing.
    return approvals.filter(Q(search_text__contains=q.lower()) | Q(run_id=q) | Q(token_id=q))


def pending_queue(filters: QueueFilters, *, now: datetime | None = None) -> QuerySet[Approval]:
    """Pending approvals matching ``filters``, by time left (soonest first) or newest.

    The one query for "what is waiting for a decision": the queue page, the JSON API and any
    later reader call it, so filters, order and "expired" mean the same everywhere. A row
    whose expiry has passed is left out although the sync has not closed it yet: it can no
    longer be decided. The large JSON columns are deferred (``.defer(None)`` to read them)."""
    now = now or timezone.now()
    approvals = (
        Approval.objects.filter(state=ApprovalState.PENDING)
        .exclude(expires_at__lte=now)
        .defer(*_HEAVY_COLUMNS)
    )
    if filters.task:
        approvals = approvals.filter(task_identifier=filters.task)
    if filters.run_status:
        approvals = approvals.filter(run_status=filters.run_status)
    if filters.expiring_soon:
        approvals = approvals.filter(expires_at__isnull=False, expires_at__lte=now + EXPIRING_SOON)
    if filters.q:
        approvals = _search(approvals, filters.q)
    if filters.tag:
        approvals = _with_tag(approvals, filters.tag)
    if filters.order == ORDER_NEWEST:
        return approvals.order_by("-created_at", "pk")
    return approvals.order_by(F("expires_at").asc(nulls_last=True), "-created_at", "pk")


def queue_facets() -> dict[str, list[str]]:
    """The tasks and run statuses to offer in the queue's filter menus.

    Statuses are the configured awaiting statuses (the only ones a pending row can have).
    Tasks need a scan of the pending rows, so the list is cached briefly: a page view then
    costs the same with 10,000 pending approvals as with 100. A task that appeared in the
    last few seconds may miss from the menu until then; filtering by it still works.
    """
    tasks = cache.get(_TASKS_CACHE_KEY)
    if tasks is None:
        tasks = list(
            Approval.objects.filter(state=ApprovalState.PENDING)
            .exclude(task_identifier="")
            .order_by("task_identifier")
            .values_list("task_identifier", flat=True)
            .distinct()
        )
        cache.set(_TASKS_CACHE_KEY, tasks, FACETS_CACHE_SECONDS)
    return {"tasks": tasks, "statuses": list(settings.APPROVAL_AWAITING_STATUSES)}


def decided_history(filters: HistoryFilters) -> QuerySet[Approval]:
    """Approvals that left the queue (decided here or closed upstream), latest first."""
    # Every reviewer who voted, in order (an N-of-M approval has several): the page says who
    # decided and who voted before them (approval_tags.earlier_votes).
    votes = Vote.objects.only("approval_id", "actor_id", "actor_name", "verdict", "created_at")
    approvals = (
        Approval.objects.exclude(state=ApprovalState.PENDING)
        .select_related("decision", "decision__actor")
        .prefetch_related(Prefetch("votes", queryset=votes.order_by("created_at", "pk")))
        .defer(*_HEAVY_COLUMNS)
        .annotate(finished_at=Coalesce("decision__decided_at", "closed_at", "synced_at"))
    )
    if filters.verdict:
        approvals = approvals.filter(decision__verdict=filters.verdict)
    if filters.reviewer:
        # Theirs whether they settled it or voted before whoever did.
        voted = Vote.objects.filter(approval=OuterRef("pk"), actor_name=filters.reviewer)
        approvals = approvals.filter(Q(decision__actor_name=filters.reviewer) | Exists(voted))
    if filters.delivery:
        approvals = approvals.filter(decision__delivery_state=filters.delivery)
    if filters.task:
        approvals = approvals.filter(task_identifier=filters.task)
    if filters.state:
        approvals = approvals.filter(state=filters.state)
    return approvals.order_by("-finished_at", "-pk")


def history_facets() -> dict[str, list[str]]:
    """Reviewers who decided or voted on something and tasks that left the queue, for the
    filter menus."""
    deciders = Decision.objects.values_list("actor_name", flat=True).distinct()
    voters = Vote.objects.values_list("actor_name", flat=True).distinct()
    reviewers = sorted({*deciders, *voters} - {""})
    tasks = (
        Approval.objects.exclude(state=ApprovalState.PENDING)
        .exclude(task_identifier="")
        .order_by("task_identifier")
        .values_list("task_identifier", flat=True)
        .distinct()
    )
    return {"reviewers": reviewers, "tasks": list(tasks)}


def paginate(rows: QuerySet[Any], page_number: str | int | None) -> Page[Any]:
    """One page of ``rows``; a bad or out-of-range number gives the nearest page."""
    return Paginator(rows, PAGE_SIZE).get_page(page_number)


@dataclass(frozen=True)
class RunToken:
    """A wait token of the run: a row we mirror, or only an announcement in the run's metadata."""

    token_id: str
    description: str
    state: str
    approval: Approval | None = None
    is_current: bool = False


def run_tokens(approval: Approval) -> list[RunToken]:
    """Every token of ``approval``'s run: mirrored rows first, then announced-only tokens."""
    rows = Approval.objects.filter(run_id=approval.run_id).defer(*_HEAVY_COLUMNS)
    tokens = [
        RunToken(
            token_id=row.token_id,
            description=row.description,
            state=row.get_state_display(),
            approval=row,
            is_current=row.pk == approval.pk,
        )
        for row in rows.order_by("created_at", "pk")
    ]
    known = {token.token_id for token in tokens}
    metadata = approval.run_metadata if isinstance(approval.run_metadata, dict) else {}
    announced = metadata.get("waitTokens")
    for record in announced if isinstance(announced, list) else []:
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            continue
        if record["id"] in known:
            continue
        known.add(record["id"])
        description = record.get("description")
        tokens.append(
            RunToken(
                token_id=record["id"],
                description=description if isinstance(description, str) else "",
                state="Announced (not mirrored)",
            )
        )
    return tokens


def trigger_run_url(run_id: str) -> str:
    """The run's page on Trigger.dev from ``TRIGGER_RUN_URL_TEMPLATE``, or "" when unset.

    The run id comes from upstream: it is percent-encoded, and only http(s) templates count.
    """
    template: str = getattr(settings, "TRIGGER_RUN_URL_TEMPLATE", "") or ""
    if not run_id or not template.startswith(("https://", "http://")):
        return ""
    return template.replace("{run_id}", quote(run_id, safe=""))
