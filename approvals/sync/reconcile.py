"""Upkeep of the read model: reconcile ``Approval`` rows with Trigger.dev (docs/design.md, "The
sync worker").

``sync_once`` is one reconcile pass. It reads everything first (two paginated list calls,
then details only for what is new or changed, then one look at each token that left the
queue) and writes afterwards in one transaction, so an upstream failure half-way changes
nothing. ``apply_run_change`` is the same upkeep for one run seen on the realtime tag feed.

Everything from Trigger.dev is untrusted text: lengths are capped and control characters
stripped here, once, so that the pages only ever have to escape.

An approval that has a ``Decision`` belongs to the decision service (approvals.decisions):
the sync only keeps its run status current.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from approvals.contract import announcements, is_valid_id, run_id_from_tags
from approvals.events import Kind, approval_changed
from approvals.limits import SUMMARY_MAX
from approvals.models import Approval, ApprovalState, Decision, DeliveryState, SyncMark
from approvals.sync.budget import shared_budget
from approvals.trigger import (
    MalformedResponseError,
    NotFoundError,
    Pacer,
    Page,
    RetryPolicy,
    Run,
    TriggerClient,
    TriggerError,
    WaitpointToken,
)
from approvals.trigger.records import parse_datetime
from approvals.upstream import trigger_client

logger = logging.getLogger("approvals.sync")

# Caps on upstream text (hostile or just careless tasks): what the pages show stays readable
# and one run cannot bloat the table.
DESCRIPTION_MAX = 2_000
REQUESTED_BY_MAX = 320
TAG_MAX = 128
TAGS_MAX = 50
TASK_MAX = 200
STATUS_MAX = 40
SEARCH_TEXT_MAX = 10_000
# How much of a Markdown summary goes into the search text: its opening says what it is
# about, and a long summary must not push the payload out of SEARCH_TEXT_MAX.
SEARCH_SUMMARY_MAX = 2_000
JSON_MAX_CHARS = 256_000
JSON_MAX_DEPTH = 64
PAGE_SIZE = 100
DEFAULT_DESCRIPTION = "Approval required"
# A pass should fail fast and leave the retrying to the next pass, a few seconds later.
SYNC_RETRY = RetryPolicy(max_attempts=3, min_delay=0.5, max_delay=4.0)
# Run statuses in which a run is parked on its token. Leaving them (EXECUTING, COMPLETED …)
# means the token was probably completed or timed out: worth one look at the token.
PARKED_STATUSES = frozenset({"WAITING", "FROZEN", "DELAYED"})

# C0 and C1 controls, DEL, and lone surrogates (PostgreSQL refuses them), except \t and \n.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# Inside JSON values only NUL and lone surrogates must go (jsonb rejects them); the rest is
# escaped wherever JSON is shown.
_JSON_UNSAFE = re.compile("[\x00\ud800-\udfff]")

T = TypeVar("T")


def clean_text(value: Any, limit: int) -> str:
    """A string safe to store and show: control characters removed, at most ``limit`` long."""
    if not isinstance(value, str):
        return ""
    return _CONTROL.sub("", value.replace("\r\n", "\n"))[:limit]


# What cleaning had to change in an upstream value, kept on the approval so the page says so.
NOTE_NON_FINITE = "non_finite"
NOTE_TOO_DEEP = "too_deep"
NOTE_TOO_LARGE = "too_large"
NOTE_TEXT = {
    NOTE_NON_FINITE: "NaN or Infinity, which JSON cannot hold, is shown as null.",
    NOTE_TOO_DEEP: f"Parts nested deeper than {JSON_MAX_DEPTH} levels are not shown.",
    NOTE_TOO_LARGE: f"A value over {JSON_MAX_CHARS:,} characters is shown as a preview.",
}
TOO_DEEP_MARKER = "[nested too deeply to show]"


def clean_json(value: Any, notes: set[str] | None = None, depth: int = 0) -> Any:
    """A JSON value PostgreSQL's jsonb and SQLite accept: no NUL, no lone surrogate, no NaN
    or ±Infinity (they become ``null``), nesting bounded. What was changed goes in ``notes``."""
    notes = set() if notes is None else notes
    if depth > JSON_MAX_DEPTH:
        notes.add(NOTE_TOO_DEEP)
        return TOO_DEEP_MARKER
    if isinstance(value, str):
        return _JSON_UNSAFE.sub("", value)
    if isinstance(value, dict):
        return {
            _JSON_UNSAFE.sub("", str(key)): clean_json(item, notes, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [clean_json(item, notes, depth + 1) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        notes.add(NOTE_NON_FINITE)
        return None
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


def capped_json(value: Any, notes: set[str] | None = None) -> tuple[Any, str]:
    """``value`` cleaned, and its JSON text; a value too large is replaced by a marked preview."""
    notes = set() if notes is None else notes
    cleaned = clean_json(value, notes)
    text = json.dumps(cleaned, ensure_ascii=False, sort_keys=True, default=str)
    if len(text) <= JSON_MAX_CHARS:
        return cleaned, text
    notes.add(NOTE_TOO_LARGE)
    preview = {"truncated": True, "size": len(text), "preview": text[:2_000]}
    return preview, json.dumps(preview, ensure_ascii=False)


def clean_tags(tags: Any) -> list[str]:
    if not isinstance(tags, list | tuple):
        return []
    return [clean_text(tag, TAG_MAX) for tag in tags if isinstance(tag, str)][:TAGS_MAX]


@dataclass
class SyncReport:
    """What one reconcile pass did. ``error`` is set when the pass was aborted (nothing written)."""

    created: int = 0
    updated: int = 0
    closed: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    skipped: int = 0
    upstream_calls: int = 0
    # Run details (payloads) left for a later pass: the rate budget was down to its reserve.
    deferred: int = 0
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def closed_total(self) -> int:
        return sum(self.closed.values())

    def summary(self) -> str:
        closed = ",".join(f"{k}={v}" for k, v in sorted(self.closed.items())) or "0"
        text = (
            f"created={self.created} updated={self.updated} closed={closed} "
            f"unchanged={self.unchanged} skipped={self.skipped} "
            f"upstream_calls={self.upstream_calls} in {self.seconds * 1000:.0f} ms"
        )
        if self.deferred:
            text += f" (payloads of {self.deferred} left for later: rate budget at its reserve)"
        return text if self.ok else f"FAILED ({self.error}) after {text}"


# --- Reading upstream -------------------------------------------------------------------------


class _Upstream:
    """The client, counting calls (a paginated list is one call per page)."""

    def __init__(self, client: TriggerClient, report: SyncReport) -> None:
        self.client = client
        self.report = report

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self.report.upstream_calls += 1
        return fn(*args, **kwargs)

    def pages(self, list_page: Callable[..., Page[T]], **filters: Any) -> Iterator[T]:
        for items in self.page_lists(list_page, **filters):
            yield from items

    def page_lists(self, list_page: Callable[..., Page[T]], **filters: Any) -> Iterator[list[T]]:
        """Each page's items, a page at a time: a caller may stop before the next call."""
        after: str | None = None
        seen: set[str] = set()
        while True:
            page = self.call(list_page, page_size=PAGE_SIZE, after=after, **filters)
            # The client skips unreadable items (and logs them); an approval whose token was
            # one of them is checked by retrieving it, like any other missing from the list.
            self.report.skipped += len(page.invalid)
            yield list(page.data)
            after = page.next
            if after is None:
                return
            if after in seen:
                raise MalformedResponseError(f"pagination loops at {after!r}", field="next")
            seen.add(after)


@dataclass
class _Seen:
    """One WAITING token upstream, joined to its awaiting run."""

    token: WaitpointToken
    run: Run
    announcement: dict[str, Any]


@dataclass
class _Closing:
    approval_id: int
    state: str
    reason: str
    run_status: str | None = None


@dataclass
class _Plan:
    """Everything read upstream, ready to be written."""

    seen: list[_Seen] = field(default_factory=list)
    details: dict[str, Run] = field(default_factory=dict)
    closings: list[_Closing] = field(default_factory=list)
    # Pending approvals whose run left the listing but has not ended: status only.
    statuses: dict[int, str] = field(default_factory=dict)
    # Decided approvals whose run is followed to its end, by approval id.
    followed: dict[int, Run] = field(default_factory=dict)
    # Runs whose details were left for a later pass (the rate budget was at its reserve).
    deferred: set[str] = field(default_factory=set)


def classify_token(
    upstream: _Upstream, token_id: str
) -> tuple[str | None, str, WaitpointToken | None]:
    """Why a token left the WAITING list: (closing state, or None if it still waits; reason;
    the token)."""
    try:
        token = upstream.call(upstream.client.waitpoints.retrieve, token_id)
    except NotFoundError:
        return ApprovalState.GONE, "The token no longer exists on Trigger.dev", None
    if token.status == "COMPLETED":
        return ApprovalState.COMPLETED_ELSEWHERE, "Completed outside this dashboard", token
    if token.status == "TIMED_OUT":
        return ApprovalState.TIMED_OUT, clean_text(token.timeout_error, 500), token
    return None, "", token


def _run_end(upstream: _Upstream, run_id: str) -> tuple[str | None, str, str | None]:
    """(closing state or None, reason, run status) for a run no longer listed as awaiting."""
    try:
        run = upstream.call(upstream.client.runs.retrieve, run_id)
    except NotFoundError:
        return ApprovalState.RUN_ENDED, "The run no longer exists on Trigger.dev", None
    status = clean_text(run.status, STATUS_MAX)
    if run.is_finished:
        return ApprovalState.RUN_ENDED, f"The run ended: {status}", status
    return None, "", status


# After this many upstream failures in a row on single records, the rest of the pass's
# single-record reads are put off to the next pass: the upstream is probably down, and a pass
# should not spend minutes retrying each record.
MAX_FAILURES_IN_A_ROW = 3


class _RecordReads:
    """Reads of single records (a run's details, a token) where one bad record must not fail
    the pass: a failure is logged by id, counted as skipped, and tried again next pass."""

    def __init__(self, upstream: _Upstream) -> None:
        self.upstream = upstream
        self.failures_in_a_row = 0

    @property
    def gave_up(self) -> bool:
        return self.failures_in_a_row >= MAX_FAILURES_IN_A_ROW

    def read(self, what: str, record_id: str, fn: Callable[..., T], *args: Any) -> T | None:
        if self.gave_up:
            self.upstream.report.skipped += 1
            return None
        try:
            value = fn(*args)
        except NotFoundError:
            raise  # an answer, not a failure: the caller decides what it means
        except TriggerError as exc:
            self.failures_in_a_row += 1
            self.upstream.report.skipped += 1
            logger.warning(
                "sync: skipping %s %s this pass: %s: %s",
                what,
                record_id,
                type(exc).__name__,
                str(exc)[:200],
            )
            return None
        self.failures_in_a_row = 0
        return value


def _list_awaiting_runs(upstream: _Upstream) -> dict[str, Run]:
    runs: dict[str, Run] = {}
    for run in upstream.pages(
        upstream.client.runs.list_page,
        status=settings.APPROVAL_AWAITING_STATUSES,
        tags=[settings.APPROVAL_TAG],
        period=settings.SYNC_RUN_WINDOW,
    ):
        if not is_valid_id(run.id):
            _skip_bad_id(upstream.report, "run", run.id)
            continue
        runs[run.id] = run
    return runs


def _list_waiting_tokens(upstream: _Upstream) -> dict[str, WaitpointToken]:
    waiting: dict[str, WaitpointToken] = {}
    for token in upstream.pages(
        upstream.client.waitpoints.list_page, status=["WAITING"], tags=[settings.APPROVAL_TAG]
    ):
        if not is_valid_id(token.id):
            _skip_bad_id(upstream.report, "token", token.id)
            continue
        if token.status == "WAITING":  # the list's status filter is loose (docs/trigger-v4.md)
            waiting[token.id] = token
    return waiting


def _skip_bad_id(report: SyncReport, what: str, value: str) -> None:
    report.skipped += 1
    # repr() with a cap: the id itself is hostile text (NUL, newlines) and must not forge lines.
    logger.warning("sync: skipping a %s with a malformed id %.120r", what, value)


def _join(runs: dict[str, Run], waiting: dict[str, WaitpointToken]) -> list[_Seen]:
    """Each WAITING token with the run its ``run:`` tag names; the announcement only ever
    comes from that run's metadata (docs/hardening.md, "Tokens belong to one run")."""
    seen: list[_Seen] = []
    for token in waiting.values():
        run_id = run_id_from_tags(token.tags)
        run = runs.get(run_id) if run_id else None
        if run is None:
            continue  # not ours, or its run is not awaiting: handled below if we knew it
        seen.append(_Seen(token, run, announcements(run).get(token.id, {})))
    return seen


def _read_details(upstream: _Upstream, plan: _Plan, reads: _RecordReads) -> None:
    """The run details (payload) of approvals that are new or whose run changed."""
    known = {
        a.token_id: a
        for a in Approval.objects.filter(token_id__in=[s.token.id for s in plan.seen]).only(
            "token_id", "run_updated_at", "state"
        )
    }
    decided = set(
        Decision.objects.filter(approval__token_id__in=list(known)).values_list(
            "approval__token_id", flat=True
        )
    )
    client = upstream.client
    for seen in plan.seen:
        approval = known.get(seen.token.id)
        if seen.token.id in decided or seen.run.id in plan.details:
            continue
        if approval is not None and approval.run_updated_at == seen.run.updated_at:
            continue
        if client.budget is not None and client.budget.wait_before_call() > 0:
            # A long queue seen for the first time costs a call per run: rather than wait for
            # the bucket, the approval is written from the listing now, and its payload read
            # by a later pass (its run_updated_at stays unset until then).
            upstream.report.deferred += 1
            plan.deferred.add(seen.run.id)
            continue
        run_id = seen.run.id
        try:
            details = reads.read("run", run_id, upstream.call, client.runs.retrieve, run_id)
        except NotFoundError:
            logger.warning("sync: skipping run %s: NotFoundError", run_id)
            continue
        if details is not None:
            plan.details[run_id] = details


def _read_leaving(
    upstream: _Upstream, plan: _Plan, waiting: dict[str, WaitpointToken], reads: _RecordReads
) -> None:
    """Why each pending approval no longer joined to a WAITING token and an awaiting run left."""
    listed = {s.token.id for s in plan.seen}
    leaving = (
        Approval.objects.filter(state=ApprovalState.PENDING, decision__isnull=True)
        .exclude(token_id__in=listed)
        .values_list("id", "token_id", "run_id", "run_status")
    )
    for approval_id, token_id, run_id, run_status in leaving:
        state: str | None = None
        reason = ""
        if token_id not in waiting:
            verdict = reads.read("token", token_id, classify_token, upstream, token_id)
            if verdict is None:
                continue  # unreadable this pass: keep the approval as it is
            state, reason, _token = verdict
        status: str | None = None
        if state is None:
            # The token still waits, but its run is no longer awaiting it.
            ended = reads.read("run", run_id, _run_end, upstream, run_id)
            if ended is None:
                continue
            state, reason, status = ended
        if state is not None:
            plan.closings.append(_Closing(approval_id, state, reason, status))
        elif status is not None and status != run_status:
            plan.statuses[approval_id] = status


def _read(upstream: _Upstream, now: datetime) -> _Plan:
    """Everything the pass needs from upstream. The two lists must succeed (a pass cannot
    close anything on a partial listing); a single record that fails is skipped."""
    runs = _list_awaiting_runs(upstream)
    waiting = _list_waiting_tokens(upstream)
    plan = _Plan(seen=_join(runs, waiting))
    reads = _RecordReads(upstream)
    _read_details(upstream, plan, reads)
    _read_leaving(upstream, plan, waiting, reads)
    _read_followed(upstream, plan, reads, now)
    return plan


# --- Writing the read model -----------------------------------------------------------------


def approval_fields(
    *, run: Run, token: WaitpointToken | None, announcement: dict[str, Any], payload: Any
) -> dict[str, Any]:
    """The ``Approval`` columns for one token of one run, cleaned and capped."""
    description = clean_text(announcement.get("description"), DESCRIPTION_MAX).strip()
    requested_by = clean_text(announcement.get("requestedBy"), REQUESTED_BY_MAX).strip()
    # Markdown: leading spaces may be meaningful (an indented code block), blank lines are not.
    summary = clean_text(announcement.get("summary"), SUMMARY_MAX).lstrip("\n").rstrip()
    schema = announcement.get("schema")
    context = announcement.get("context")
    notes: set[str] = set()
    payload_value, payload_text = capped_json(payload, notes)
    metadata, _ = capped_json(run.metadata, notes)
    expires_at = token.timeout_at if token else None
    if expires_at is None:
        expires_at = parse_datetime(announcement.get("expiresAt"))
    created_at = token.created_at if token else parse_datetime(announcement.get("createdAt"))
    task = clean_text(run.task_identifier, TASK_MAX)
    description = description or DEFAULT_DESCRIPTION
    token_id = token.id if token else str(announcement.get("id", ""))
    search = " ".join(
        [
            description,
            token_id,
            run.id,
            task,
            requested_by,
            summary[:SEARCH_SUMMARY_MAX],
            payload_text,
        ]
    )
    return {
        "run_id": run.id,
        "task_identifier": task,
        "run_status": clean_text(run.status, STATUS_MAX),
        "run_tags": clean_tags(run.tags),
        "token_tags": clean_tags(token.tags) if token else [settings.APPROVAL_TAG, f"run:{run.id}"],
        "description": description,
        "summary": summary,
        "payload": payload_value,
        "context": capped_json(context, notes)[0] if isinstance(context, dict) else None,
        "run_metadata": metadata if isinstance(metadata, dict) else {},
        "form_schema": _form_schema(schema, notes),
        "upstream_notes": sorted(notes),
        "requested_by": requested_by,
        "created_at": created_at or run.created_at,
        "expires_at": expires_at,
        "run_created_at": run.created_at,
        "run_updated_at": run.updated_at,
        "search_text": search.lower()[:SEARCH_TEXT_MAX],
    }


def _form_schema(schema: Any, notes: set[str]) -> Any:
    """The announced form, stored whole or as a marked preview; never quietly altered. A
    schema that cleaning had to change (NaN, NUL, too deep) becomes an "altered" preview, which
    blocks approving with a reason (approvals.envelopes.schema_problem): a form with a changed
    constraint must not be filled in as if it were the task's."""
    if schema is None:
        return None
    malformed = not isinstance(schema, dict)
    if malformed:
        schema = {"announced": schema}  # not an object: shown as a preview, never as no form
    own: set[str] = set()
    cleaned, text = capped_json(schema, own)
    notes |= own
    try:
        unchanged = json.dumps(cleaned, sort_keys=True, default=str) == json.dumps(
            schema, sort_keys=True, default=str
        )
    except (ValueError, RecursionError):
        unchanged = False
    if isinstance(cleaned, dict) and cleaned.get("truncated") is True and NOTE_TOO_LARGE in own:
        return cleaned
    if own or malformed or not unchanged:
        return {"truncated": True, "altered": True, "size": len(text), "preview": text[:2_000]}
    return cleaned


def _close(approval: Approval, *, state: str, reason: str, now: datetime) -> None:
    approval.state = state
    approval.closed_reason = clean_text(reason, 1_000)
    approval.closed_at = now
    approval.synced_at = now


def _has_decision(approval: Approval) -> bool:
    return Decision.objects.filter(approval_id=approval.pk).exists()


def _announce(kind: Kind, approval: Approval) -> None:
    """Raise the change event (after commit; discarded with a savepoint that rolls back)."""
    approval_changed(kind, approval_id=approval.pk, token_id=approval.token_id)


def _differs(approval: Approval, fields: dict[str, Any]) -> bool:
    """Whether writing ``fields`` changes anything a person could see (``synced_at`` and
    ``run_updated_at`` alone do not)."""
    return any(
        getattr(approval, name) != value
        for name, value in fields.items()
        if name not in ("run_updated_at",)
    )


# --- Following a run after its decision ----------------------------------------------------------


def _follow_run(approval: Approval, run: Run, now: datetime) -> bool:
    """Bring a decided (or closed) approval's run up to date: its status, when it resumed,
    when it finished and with what output. True (and an event) when anything changed."""
    status = clean_text(run.status, STATUS_MAX)
    fields: dict[str, Any] = {}
    if approval.run_status != status:
        fields["run_status"] = status
    delivered = approval.state == ApprovalState.DECIDED and _delivered(approval)
    if delivered and approval.run_resumed_at is None and status not in PARKED_STATUSES:
        fields["run_resumed_at"] = now
    if run.is_finished and approval.run_finished_at is None:
        fields["run_finished_at"] = run.finished_at or now
        fields["run_output"] = capped_json(run.output)[0]
        fields["run_error"] = capped_json(run.error)[0]
    if not fields:
        return False
    for name, value in fields.items():
        setattr(approval, name, value)
    approval.synced_at = now
    approval.save(update_fields=[*fields, "synced_at"])
    _announce(Kind.CHANGED, approval)
    return True


def _delivered(approval: Approval) -> bool:
    return Decision.objects.filter(
        approval_id=approval.pk, delivery_state=DeliveryState.DELIVERED
    ).exists()


def _flag_stuck(now: datetime) -> int:
    """Flag decisions Trigger.dev accepted whose run has still not resumed after
    ``APPROVAL_RUN_RESUME_SECONDS``: the token is completed but the run stays parked, which
    Trigger.dev's run engine has done before (docs/live-updates.md, "Stuck runs"). Each is
    flagged once; it stays flagged until its run moves."""
    limit = now - timedelta(seconds=settings.APPROVAL_RUN_RESUME_SECONDS)
    stuck = Approval.objects.filter(
        state=ApprovalState.DECIDED,
        run_stuck_at__isnull=True,
        run_resumed_at__isnull=True,
        run_finished_at__isnull=True,
        run_status__in=PARKED_STATUSES,
        decision__delivery_state=DeliveryState.DELIVERED,
        decision__delivered_at__lte=limit,
    )
    flagged = 0
    for approval in stuck.select_for_update(of=("self",)):
        approval.run_stuck_at = now
        approval.save(update_fields=["run_stuck_at"])
        _announce(Kind.CHANGED, approval)
        flagged += 1
    return flagged


def _followed(now: datetime) -> list[Approval]:
    """Delivered decisions whose run has not finished, delivered within
    ``SYNC_FOLLOW_RUNS_HOURS``: their runs are retrieved each pass until they end."""
    since = now - timedelta(hours=settings.SYNC_FOLLOW_RUNS_HOURS)
    return list(
        Approval.objects.filter(
            state=ApprovalState.DECIDED,
            run_finished_at__isnull=True,
            decision__delivery_state=DeliveryState.DELIVERED,
            decision__delivered_at__gte=since,
        ).only("id", "run_id")
    )


def _read_followed(upstream: _Upstream, plan: _Plan, reads: _RecordReads, now: datetime) -> None:
    for approval in _followed(now):
        try:
            run = reads.read("run", approval.run_id, upstream.call, upstream.client.runs.retrieve,
                             approval.run_id)  # fmt: skip
        except NotFoundError:
            continue
        if run is not None:
            plan.followed[approval.pk] = run


def _guarded(
    what: str, record_id: str, report: SyncReport, write: Callable[..., object], *args: Any
) -> None:
    """One record's write in a savepoint: if the database refuses it (a value cleaning did not
    foresee), that record is skipped and logged by id, and the rest of the pass is kept."""
    try:
        with transaction.atomic():
            write(*args)
    except DatabaseError as exc:
        report.skipped += 1
        logger.warning(
            "sync: skipping %s %s: the database refused it (%s)",
            what,
            record_id,
            type(exc).__name__,
        )


def _write_seen(
    seen: _Seen,
    approval: Approval | None,
    decided: bool,
    details: Run | None,
    deferred: bool,
    report: SyncReport,
    now: datetime,
) -> None:
    status = clean_text(seen.run.status, STATUS_MAX)
    if decided:
        assert approval is not None
        if approval.run_status != status:
            approval.run_status, approval.synced_at = status, now
            approval.save(update_fields=["run_status", "synced_at"])
            _announce(Kind.CHANGED, approval)
            report.updated += 1
        else:
            report.unchanged += 1
        return
    fields: dict[str, Any]
    if details is None and approval is None and not deferred:
        report.skipped += 1  # its details could not be read: next pass
        return
    if details is None and approval is not None:
        if approval.state == ApprovalState.PENDING and approval.run_status == status:
            report.unchanged += 1
            return
        fields = {"run_status": status}
    else:
        fields = approval_fields(
            run=seen.run,
            token=seen.token,
            announcement=seen.announcement,
            payload=details.payload if details is not None else None,
        )
        if details is None:
            # New, its details deferred: in the queue from the listing now, the payload with
            # a later pass (an unset run_updated_at marks it as still to read).
            fields["run_updated_at"] = None
    if approval is None:
        created = Approval.objects.create(
            token_id=seen.token.id, first_seen_at=now, synced_at=now, **fields
        )
        _announce(Kind.APPEARED, created)
        report.created += 1
        return
    kind = Kind.CHANGED
    if approval.state != ApprovalState.PENDING:
        if approval.closed_at is not None and approval.closed_at >= now:
            # Closed (by the realtime follower) after this pass read the token as waiting:
            # the read is older than the close, so it must not reopen it.
            report.unchanged += 1
            return
        # Waiting again upstream (a token cannot be reopened; a wrong "gone" can).
        fields.update(state=ApprovalState.PENDING, closed_reason="", closed_at=None)
        kind = Kind.APPEARED
    changed = _differs(approval, fields)
    for name, value in fields.items():
        setattr(approval, name, value)
    approval.synced_at = now
    approval.save(update_fields=[*fields, "synced_at"])
    if changed:
        _announce(kind, approval)
    report.updated += 1


def _write_leaving(
    approval: Approval, close: _Closing | None, plan: _Plan, report: SyncReport, now: datetime
) -> None:
    if approval.state != ApprovalState.PENDING or _has_decision(approval):
        return  # decided meanwhile: the decision service owns it now
    if close is None:
        approval.run_status = plan.statuses[approval.pk]
        approval.synced_at = now
        approval.save(update_fields=["run_status", "synced_at"])
        _announce(Kind.CHANGED, approval)
        report.updated += 1
        return
    if close.run_status is not None:
        approval.run_status = close.run_status
    _close(approval, state=close.state, reason=close.reason, now=now)
    approval.save(update_fields=["state", "closed_reason", "closed_at", "run_status", "synced_at"])
    _announce(Kind.LEFT, approval)
    report.closed[close.state] = report.closed.get(close.state, 0) + 1


def _write(plan: _Plan, report: SyncReport, now: datetime) -> None:
    tokens = [s.token.id for s in plan.seen]
    with transaction.atomic():
        # Locked so that a decision being recorded right now (approvals.decisions locks the
        # same row) is seen before this pass overwrites anything.
        rows = {
            a.token_id: a for a in Approval.objects.select_for_update().filter(token_id__in=tokens)
        }
        decided = set(
            Decision.objects.filter(approval__token_id__in=list(rows)).values_list(
                "approval__token_id", flat=True
            )
        )
        for seen in plan.seen:
            _guarded(
                "token",
                seen.token.id,
                report,
                _write_seen,
                seen,
                rows.get(seen.token.id),
                seen.token.id in decided,
                plan.details.get(seen.run.id),
                seen.run.id in plan.deferred,
                report,
                now,
            )

        closing = {c.approval_id: c for c in plan.closings}
        ids = [*closing, *plan.statuses]
        for approval in Approval.objects.select_for_update().filter(id__in=ids):
            _guarded(
                "token",
                approval.token_id,
                report,
                _write_leaving,
                approval,
                closing.get(approval.pk),
                plan,
                report,
                now,
            )

        for approval in Approval.objects.select_for_update().filter(id__in=list(plan.followed)):
            run = plan.followed[approval.pk]
            _guarded("run", run.id, report, _follow_run, approval, run, now)
        _flag_stuck(now)


def sync_once(
    *, client: TriggerClient | None = None, now: datetime | None = None, pacer: Pacer | None = None
) -> SyncReport:
    """One full reconcile pass. Never raises for upstream trouble: the report carries the error.

    Its calls wait for Trigger.dev's budget (approvals.sync.budget), and for ``pacer`` when
    given: the worker spreads its periodic full passes out over minutes."""
    started = time.monotonic()
    now = now or timezone.now()
    report = SyncReport()
    try:
        if client is None:
            with trigger_client(retry=SYNC_RETRY, budget=shared_budget(), pacer=pacer) as owned:
                plan = _read(_Upstream(owned, report), now)
        else:
            plan = _read(_Upstream(client, report), now)
        _write(plan, report, now)
        # The queue as of ``now`` is whole (payloads left for later aside).
        SyncMark.objects.update_or_create(name=SyncMark.FULL_RECONCILE, defaults={"at": now})
    except TriggerError as exc:
        # The client's messages are redacted: they never contain the secret key.
        report.error = f"{type(exc).__name__}: {exc}"[:500]
        report.created = report.updated = report.unchanged = report.skipped = 0
        report.closed = {}
    report.seconds = time.monotonic() - started
    return report


# --- One run from the realtime feed ------------------------------------------------------------


@dataclass
class RunChange:
    created: int = 0
    updated: int = 0
    closed: int = 0
    upstream_calls: int = 0


def apply_run_change(*, run: Run, client: TriggerClient, now: datetime | None = None) -> RunChange:
    """Bring the approvals of one run (as the realtime feed just showed it) up to date.

    Known approvals get the run's status and announcement at once; a pending one whose run
    left its parked status has its token looked at (one call) and leaves the queue if the
    token was completed or timed out, or the run ended. Tokens announced by an awaiting run
    and unknown here are fetched (one call each) and added, but only when the token's own
    ``run:`` tag names this run: a task cannot dress another run's token in its own text
    (docs/hardening.md, "Tokens belong to one run"). Runs seen before with the same
    ``updated_at`` cost nothing. A record that cannot be read or stored is logged and left
    for the next change or the reconcile; it never raises into the follower.
    """
    now = now or timezone.now()
    change = RunChange()
    report = SyncReport()
    upstream = _Upstream(client, report)
    if not is_valid_id(run.id):
        _skip_bad_id(report, "run", run.id)
        return change
    announced = announcements(run)
    status = clean_text(run.status, STATUS_MAX)
    known = list(Approval.objects.filter(run_id=run.id))

    # Reads first (outside any transaction).
    reads = _RecordReads(upstream)
    new_tokens = _new_announced_tokens(upstream, reads, run, announced, known)
    verdicts = _verdicts_on_known(upstream, reads, run, status, known)

    with transaction.atomic():
        for token in new_tokens:
            _guarded(
                "token",
                token.id,
                report,
                _create_announced,
                token,
                run,
                announced,
                change,
                now,
            )
        rows = Approval.objects.select_for_update().filter(id__in=[a.pk for a in known])
        for approval in rows:
            _guarded(
                "token",
                approval.token_id,
                report,
                _update_known,
                approval,
                run,
                status,
                announced,
                verdicts,
                change,
                now,
            )
    change.upstream_calls = report.upstream_calls
    return change


def _new_announced_tokens(
    upstream: _Upstream,
    reads: _RecordReads,
    run: Run,
    announced: dict[str, dict[str, Any]],
    known: list[Approval],
) -> list[WaitpointToken]:
    if run.status not in settings.APPROVAL_AWAITING_STATUSES or run.is_finished:
        return []
    known_ids = {a.token_id for a in known}
    tokens: list[WaitpointToken] = []
    for token_id in announced:
        if token_id in known_ids:
            continue
        if not is_valid_id(token_id):
            _skip_bad_id(upstream.report, "token", token_id)
            continue
        try:
            token = reads.read(
                "token",
                token_id,
                upstream.call,
                upstream.client.waitpoints.retrieve,
                token_id,
            )
        except NotFoundError:
            continue
        if token is None or token.status != "WAITING":
            continue
        if settings.APPROVAL_TAG not in token.tags:
            continue
        owner = run_id_from_tags(token.tags)
        if owner != run.id:
            logger.warning(
                "sync: run %s announces token %s, which belongs to %s: ignored",
                run.id,
                token_id,
                f"run {owner}" if owner else "no single run",
            )
            continue
        tokens.append(token)
    return tokens


def _verdicts_on_known(
    upstream: _Upstream, reads: _RecordReads, run: Run, status: str, known: list[Approval]
) -> dict[int, tuple[str | None, str]]:
    verdicts: dict[int, tuple[str | None, str]] = {}
    for approval in known:
        if approval.state != ApprovalState.PENDING or approval.run_status == status:
            continue
        if run.status in PARKED_STATUSES and not run.is_finished:
            continue
        token_id = approval.token_id
        verdict = reads.read("token", token_id, classify_token, upstream, token_id)
        if verdict is None:
            continue  # unreadable now: the reconcile looks again
        state, reason, _token = verdict
        if state is None and run.is_finished:
            state, reason = ApprovalState.RUN_ENDED, f"The run ended: {status}"
        verdicts[approval.pk] = (state, reason)
    return verdicts


def _create_announced(
    token: WaitpointToken,
    run: Run,
    announced: dict[str, dict[str, Any]],
    change: RunChange,
    now: datetime,
) -> None:
    fields = approval_fields(
        run=run, token=token, announcement=announced.get(token.id, {}), payload=run.payload
    )
    approval, created = Approval.objects.get_or_create(
        token_id=token.id, defaults={"first_seen_at": now, "synced_at": now, **fields}
    )
    if created:
        _announce(Kind.APPEARED, approval)
    change.created += int(created)


def carried_payload(run: Run) -> tuple[bool, Any]:
    """``(True, payload)`` when ``run`` came with its payload: a retrieved run, or a row of the
    realtime feed. A listed run has none, and an offloaded one (``application/store``) only
    its path."""
    if "payload" not in run.raw:
        return False, None
    kind = str(run.raw.get("payloadType") or "")
    if kind.lower().startswith("application/store"):
        return False, None
    return True, run.payload


# What an announcement may change on a known approval (the payload comes with the details).
_ANNOUNCED_FIELDS = (
    "description",
    "summary",
    "requested_by",
    "form_schema",
    "context",
    "run_tags",
    "run_metadata",
    "search_text",
)


def _update_known(
    approval: Approval,
    run: Run,
    status: str,
    announced: dict[str, dict[str, Any]],
    verdicts: dict[int, tuple[str | None, str]],
    change: RunChange,
    now: datetime,
) -> None:
    if _has_decision(approval) or approval.state != ApprovalState.PENDING:
        if _follow_run(approval, run, now):
            change.updated += 1
        return
    state, reason = verdicts.get(approval.pk, (None, ""))
    if state is not None:
        approval.run_status = status
        _close(approval, state=state, reason=reason, now=now)
        approval.save(
            update_fields=["state", "closed_reason", "closed_at", "run_status", "synced_at"]
        )
        _announce(Kind.LEFT, approval)
        change.closed += 1
        return
    # Written from a listing with its payload still to read (an unset run_updated_at): see
    # docs/design.md, "Upstream budget".
    unread = approval.run_updated_at is None
    if approval.run_status == status and approval.run_updated_at == run.updated_at:
        return
    fields: dict[str, Any] = {"run_status": status, "run_updated_at": run.updated_at}
    announcement = announced.get(approval.token_id)
    carried, payload = carried_payload(run) if unread else (False, None)
    if announcement is not None:
        described = approval_fields(
            run=run,
            token=None,
            announcement=announcement,
            payload=payload if carried else approval.payload,
        )
        fields.update({name: described[name] for name in _ANNOUNCED_FIELDS})
        if carried:
            # The feed's row (or a retrieved run) holds the payload the listing lacked: no
            # call needed to read it.
            fields["payload"] = described["payload"]
        # Notes about the payload stay until it is read again.
        fields["upstream_notes"] = sorted({*approval.upstream_notes, *described["upstream_notes"]})
    if unread and (announcement is None or not carried):
        fields["run_updated_at"] = None  # still to read: the next full reconcile does
    changed = _differs(approval, fields)
    for name, value in fields.items():
        setattr(approval, name, value)
    approval.synced_at = now
    approval.save(update_fields=[*fields, "synced_at"])
    if changed:
        _announce(Kind.CHANGED, approval)
    change.updated += 1
