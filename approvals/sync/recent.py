"""The pass between full reconciles: only what is new (docs/design.md, "Upstream budget").

A full reconcile lists every WAITING token and every awaiting run: its cost grows with the
queue (about 40 calls at 2,000 pending), and every 5 seconds that was 363 calls a minute. The
realtime feed already reports each run change within milliseconds (approvals.sync.follower);
this pass is its safety net for new approvals: it lists the WAITING tokens created in the
last interval plus an overlap (one page, one call, whatever the queue's length) and brings in
the ones not known here through their run, exactly as the feed would have
(``apply_run_change``). Tokens that leave (completed elsewhere, timed out, run ended) are the
feed's, and the full reconcile's when the feed was down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from approvals.contract import is_valid_id, run_id_from_tags
from approvals.models import Approval, ApprovalState
from approvals.sync.budget import shared_budget
from approvals.sync.reconcile import (
    SYNC_RETRY,
    SyncReport,
    _Upstream,
    apply_run_change,
)
from approvals.trigger import NotFoundError, TriggerClient, TriggerError, WaitpointToken
from approvals.upstream import trigger_client


def lookback() -> timedelta:
    return timedelta(seconds=settings.SYNC_INTERVAL_SECONDS + settings.SYNC_RECENT_OVERLAP_SECONDS)


def sync_recent(*, client: TriggerClient | None = None, now: datetime | None = None) -> SyncReport:
    """List the tokens created since ``now - lookback()`` and add the unknown ones. Never
    raises for upstream trouble: the report carries the error."""
    moment = now or timezone.now()
    return _reported(client, lambda upstream: _bring_in_new(upstream, moment))


def _reported(client: TriggerClient | None, work: Callable[[_Upstream], None]) -> SyncReport:
    """``work`` with the given client (or the worker's own, within the shared budget), timed
    and counted in a report; an upstream failure is the report's error, not an exception."""
    started = time.monotonic()
    report = SyncReport()
    try:
        if client is None:
            with trigger_client(retry=SYNC_RETRY, budget=shared_budget()) as owned:
                work(_Upstream(owned, report))
        else:
            work(_Upstream(client, report))
    except TriggerError as exc:
        report.error = f"{type(exc).__name__}: {exc}"[:500]
    report.seconds = time.monotonic() - started
    return report


def _bring_in_new(upstream: _Upstream, now: datetime) -> None:
    client = upstream.client
    listed: list[WaitpointToken] = []
    known: set[str] = set()
    for page in upstream.page_lists(
        client.waitpoints.list_page,
        status=["WAITING"],
        tags=[settings.APPROVAL_TAG],
        created_from=now - lookback(),
    ):
        tokens = [t for t in page if t.status == "WAITING" and is_valid_id(t.id)]
        listed.extend(tokens)
        here = set(
            Approval.objects.filter(token_id__in=[t.id for t in tokens]).values_list(
                "token_id", flat=True
            )
        )
        known |= here
        # Newest first (docs/trigger-v4.md, "Waitpoint tokens"): once a whole page is known,
        # the older ones were seen by an earlier pass. Without this, a burst of thousands of
        # new tokens cost every pass a page per hundred until they aged out of the lookback.
        if len(here) == len(tokens):
            break
    runs_done: set[str] = set()
    for token in listed:
        run_id = run_id_from_tags(token.tags)
        if token.id in known or not run_id or run_id in runs_done or not is_valid_id(run_id):
            upstream.report.unchanged += 1
            continue
        runs_done.add(run_id)
        try:
            run = upstream.call(client.runs.retrieve, run_id)
        except NotFoundError:
            upstream.report.skipped += 1
            continue
        # The run as the feed would have shown it: its announced tokens come in with it.
        change = apply_run_change(run=run, client=client, now=now)
        upstream.report.created += change.created
        upstream.report.updated += change.updated
        upstream.report.upstream_calls += change.upstream_calls


def read_unread_payloads(*, client: TriggerClient | None = None, limit: int = 1000) -> SyncReport:
    """The payloads a budget-tight pass left for later (pending approvals with an unset
    ``run_updated_at``), one retrieve per run, for as long as the budget allows; the rest
    stay for the next call. The realtime feed usually fills them first, from its rows, and
    then this costs nothing: a full reconcile in its place would list the whole queue again.
    Never raises for upstream trouble: the report carries the error."""
    run_ids = list(
        Approval.objects.filter(state=ApprovalState.PENDING, run_updated_at__isnull=True)
        .values_list("run_id", flat=True)
        .distinct()[:limit]
    )
    return _reported(client, lambda upstream: _read_runs(upstream, run_ids))


def _read_runs(upstream: _Upstream, run_ids: list[str]) -> None:
    client = upstream.client
    for n, run_id in enumerate(run_ids):
        if client.budget is not None and client.budget.wait_before_call() > 0:
            upstream.report.deferred += len(run_ids) - n
            return
        try:
            run = upstream.call(client.runs.retrieve, run_id)
        except NotFoundError:
            upstream.report.skipped += 1
            continue
        change = apply_run_change(run=run, client=client)
        upstream.report.updated += change.updated
        upstream.report.upstream_calls += change.upstream_calls
