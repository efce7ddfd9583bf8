"""The reviewer's pages: the queue, an approval's detail with its decision forms, the history.

Pages read only the database (``approvals.queries``); deciding goes through the one service
function, ``approvals.decisions.decide``. Each page is one template whose refreshable part is
an inline partial: htmx requests get the partial, plain requests the page, and the forms
work without JavaScript (post, redirect, message).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.text import capfirst
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe
from django_htmx.middleware import HtmxDetails

from approvals import people, queries, readiness
from approvals.action_pages import post_only
from approvals.decisions import DecisionError, DecisionResult, decide, decide_many
from approvals.forms import (
    ApproveForm,
    BulkDecisionForm,
    HistoryFilterForm,
    QueueFilterForm,
    RejectForm,
    apply_field_errors,
)
from approvals.limits import COMMENT_MAX
from approvals.live import presence
from approvals.models import Approval, ApprovalState, Decision, DeliveryState, Verdict, Vote
from approvals.policies import policy_for, refusal_reason
from approvals.presentation import queue_cache
from approvals.presentation.entered import entered_values
from approvals.presentation.queue_rows import row_texts
from approvals.reviewing import Reviewer, next_pending
from approvals.templatetags.approval_tags import visible

logger = logging.getLogger(__name__)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _wants_partial(request: HtmxHttpRequest) -> bool:
    # A history-restore request (back button after hx-push-url) needs the whole page.
    return bool(request.htmx) and not request.htmx.history_restore_request


def _render(
    request: HtmxHttpRequest,
    template: str,
    partial: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HttpResponse:
    name = f"{template}#{partial}" if _wants_partial(request) else template
    response = render(request, name, context, status=status)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- Queue ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkOutcome:
    approval: Approval | None
    token_id: str
    ok: bool
    message: str
    attention: list[str]  # the fields that need the reviewer (on the approval's own page)


# The queue the reviewer last looked at (its query string), for "← Queue" and "Next pending".
QUEUE_QUERY_SESSION_KEY = "approvals:queue-query"


def queue_context(
    request: HttpRequest, *, personal: bool = True, excluded: frozenset[int] = frozenset()
) -> dict[str, Any]:
    """The queue page's context for ``request.user`` and ``request.GET`` (its filters); the
    live pushes render the same (approvals.live.fragments). ``personal=False``: the rows'
    signals as anyone with the user's rights would see them, less ``excluded`` (a render
    shared by the sockets of reviewers with the same rights and exclusions)."""
    reviewer = Reviewer(request.user, personal=personal)
    form = QueueFilterForm.for_reviewer(request.GET, reviewer)
    rows = form.rows(reviewer, personal=personal)
    if excluded:  # a shared render: the rows these reviewers' own votes and requests remove
        rows = rows.exclude(pk__in=excluded)
    page = queries.paginate(rows, request.GET.get("page"))
    page.object_list = list(page.object_list)  # read once: the rows, who views them, standings
    standings = reviewer.standings(page.object_list)
    return {
        "filter_form": form,
        "show": form.shown(),
        "page": page,
        "query": request.GET.urlencode(),
        "standings": standings,
        "may_decide": reviewer.may_decide_at_all,
        "may_pick_any": any(standing.may_pick for standing in standings.values()),
        "requesters": people.requester_names(a.requested_by for a in page.object_list),
        "viewing": presence.viewing(approval.pk for approval in page.object_list),
        "row_texts": row_texts(page.object_list),
    }


def _remember_queue(request: HttpRequest) -> None:
    query = request.GET.urlencode()
    if request.session.get(QUEUE_QUERY_SESSION_KEY) != query:
        request.session[QUEUE_QUERY_SESSION_KEY] = query


def queue_url(request: HttpRequest) -> str:
    """The queue as the reviewer last filtered it."""
    query = (
        str(request.session.get(QUEUE_QUERY_SESSION_KEY, "")) if hasattr(request, "session") else ""
    )
    return reverse("home") + (f"?{query}" if query else "")


@require_GET
@login_required
def queue(request: HtmxHttpRequest) -> HttpResponse:
    _remember_queue(request)
    return queue_cache.serve(
        request,
        partial=_wants_partial(request),
        render=lambda: _render(
            request, "approvals/queue.html", "queue-results", queue_context(request)
        ),
    )


@post_only
@login_required
def bulk_decide(request: HtmxHttpRequest) -> HttpResponse:
    """Approve or reject the ticked rows, in two steps: the first answer lists what will be
    decided and asks to confirm; the confirmed post decides, each item re-checked by
    ``decide_many``. Whatever fails stays ticked, with the typed text, and says why."""
    form = BulkDecisionForm(request.POST)
    selected = request.POST.getlist("token_ids")[: BulkDecisionForm.MAX_ITEMS]
    if request.POST.get("cancel"):
        return _bulk_page(request, form=form, selected=selected, show_errors=False)
    if not form.is_valid():
        return _bulk_page(request, form=form, selected=selected, status=400)
    if not form.cleaned_data["confirmed"]:
        return _bulk_confirmation(request, form)
    verdict = form.cleaned_data["verdict"]
    results = decide_many(
        token_ids=form.cleaned_data["token_ids"],
        actor=request.user,
        verdict=verdict,
        comment=form.text(),
    )
    report = _bulk_report(results)
    failed = [line.token_id for line in report if not line.ok]
    if not _wants_partial(request) and not failed:
        for line in report:
            name = line.approval.description if line.approval else line.token_id
            messages.success(request, f"{name}: {capfirst(line.message)}")
        # Back to the same filtered page (the query string rode along in the action URL).
        query = request.GET.urlencode()
        return redirect(reverse("home") + (f"?{query}" if query else ""))
    # What failed stays ticked with the typed text, to try again; once all went through, the
    # text goes too (left in the box, it would ride along with the next bulk action).
    return _bulk_page(request, form=form, selected=failed, report=report, keep_text=bool(failed))


def _bulk_page(
    request: HtmxHttpRequest,
    *,
    form: BulkDecisionForm,
    selected: list[str],
    report: list[BulkOutcome] | None = None,
    status: int = 200,
    show_errors: bool = True,
    keep_text: bool = True,
) -> HttpResponse:
    """The queue again, with the selection and (``keep_text``) the typed text kept."""
    context = {
        **queue_context(request),
        "bulk_text": {
            name: request.POST.get(name, "")[:COMMENT_MAX] if keep_text else ""
            for name in ("comment", "reason")
        },
        "bulk_errors": dict(form.errors) if show_errors else {},
        "bulk_report": report or [],
        "selected": set(selected),
    }
    return _render(request, "approvals/queue.html", "queue-results", context, status=status)


def _bulk_confirmation(request: HtmxHttpRequest, form: BulkDecisionForm) -> HttpResponse:
    """What the confirmed post will decide: each approval by name, and any the reviewer
    cannot decide (they are reported again, and skipped, when confirmed)."""
    token_ids = form.cleaned_data["token_ids"]
    found = {a.token_id: a for a in Approval.objects.filter(token_id__in=token_ids)}
    standings = Reviewer(request.user).standings(found.values())
    items = []
    for token_id in token_ids:
        approval = found.get(token_id)
        standing = standings.get(approval.pk) if approval else None
        items.append({"token_id": token_id, "approval": approval, "standing": standing})
    context = {
        **queue_context(request),
        "confirm": {
            "verdict": form.cleaned_data["verdict"],
            "items": items,
            "text": form.text(),
            "comment": form.cleaned_data["comment"],
            "reason": form.cleaned_data["reason"],
        },
    }
    return _render(request, "approvals/queue.html", "queue-results", context)


def _bulk_report(results: list[tuple[str, DecisionResult | DecisionError]]) -> list[BulkOutcome]:
    found = {a.token_id: a for a in Approval.objects.filter(token_id__in=[t for t, _ in results])}
    report = []
    for token_id, result in results:
        approval = found.get(token_id)
        if isinstance(result, DecisionError):
            attention = [_field_label(approval, key) for key in result.field_errors]
            report.append(BulkOutcome(approval, token_id, False, result.message, attention))
        else:
            report.append(BulkOutcome(approval, token_id, True, result.message, []))
    return report


def _field_label(approval: Approval | None, key: str) -> str:
    """A field the decision service named, as the approval's form labels it."""
    if key in ("comment", "comments"):
        return "Comment"
    if key == "reason":
        return "Reason"
    schema = approval.form_schema if approval is not None else None
    properties = schema.get("properties") if isinstance(schema, dict) else None
    spec = properties.get(key) if isinstance(properties, dict) else None
    title = spec.get("title") if isinstance(spec, dict) else None
    return visible(title) if isinstance(title, str) and title else visible(key)


# --- Detail and deciding ---------------------------------------------------------------------


def _panel_context(
    request: HttpRequest,
    approval: Approval,
    *,
    approve_form: ApproveForm | None = None,
    reject_form: RejectForm | None = None,
    outcome: str = "",
    outcome_ok: bool = True,
) -> dict[str, Any]:
    """What the decision panel needs: votes, the decision, and the forms this user may use."""
    policy = policy_for(approval)
    user = request.user
    approve_blocked = refusal_reason(
        user=user, approval=approval, verdict=Verdict.APPROVE, policy=policy
    )
    reject_blocked = refusal_reason(
        user=user, approval=approval, verdict=Verdict.REJECT, policy=policy
    )
    votes = list(approval.votes.select_related("actor").order_by("created_at", "pk"))
    decision = Decision.objects.select_related("actor").filter(approval=approval).first()
    my_vote = next((vote for vote in votes if vote.actor_id == user.pk), None)
    required = max(1, policy.approvals_required) if policy else 1
    return {
        "approval": approval,
        "policy": policy,
        "approvals_required": required,
        "approve_votes": sum(1 for vote in votes if vote.verdict == Verdict.APPROVE),
        "votes": [_vote_line(approval, vote) for vote in votes],
        "decision": decision,
        "decision_values": _decision_values(approval, decision, votes),
        "already_voted": my_vote is not None,
        "my_vote": my_vote,
        "approve_blocked": approve_blocked,
        "reject_blocked": reject_blocked,
        "approve_form": approve_form
        or ApproveForm(
            schema=approval.form_schema,
            comment_required=bool(policy and policy.require_comment),
        ),
        "reject_form": reject_form or RejectForm(),
        "outcome": outcome,
        "outcome_ok": outcome_ok,
        "expired_now": approval.is_pending
        and approval.expires_at is not None
        and approval.expires_at <= timezone.now(),
    }


def _vote_line(approval: Approval, vote: Vote) -> dict[str, Any]:
    return {
        "vote": vote,
        "who": people.actor_name(vote),
        "values": entered_values(approval.form_schema, vote.fields),
    }


def _decision_values(
    approval: Approval, decision: Decision | None, votes: list[Vote]
) -> list[tuple[str, str]]:
    """The typed values that went out with the decision: those of the vote that settled it."""
    if decision is None:
        return []
    settling = [
        vote
        for vote in votes
        if vote.actor_id == decision.actor_id and vote.verdict == decision.verdict
    ]
    return entered_values(approval.form_schema, settling[-1].fields) if settling else []


def _timeline(approval: Approval, context: dict[str, Any]) -> list[dict[str, Any]]:
    """What happened to the approval, oldest first, one line per thing that happened, in
    plain words: asked, each vote (the one that settled it says so), Trigger.dev accepting
    the decision, the run resuming and ending, or the approval closing without a decision."""
    requester = approval.requested_by
    events: list[dict[str, Any]] = [
        {
            "at": approval.created_at,
            "what": "Approval requested",
            "who": context["requester_name"] or visible(requester),
            "text": "",
            "values": [],
        }
    ]
    decision: Decision | None = context["decision"]
    required = context["approvals_required"]
    approvals_so_far = 0
    for line in context["votes"]:
        vote = line["vote"]
        approving = vote.verdict == Verdict.APPROVE
        approvals_so_far += approving
        what = "Approved" if approving else "Rejected"
        if required > 1 and approving:
            what += f" ({approvals_so_far} of {required})"
        settled = (
            decision is not None
            and vote.actor_id == decision.actor_id
            and vote.verdict == decision.verdict
        )
        if settled and required > 1:
            what += ": decision made"
        via = ""
        if settled and decision is not None and decision.via_token_of_another:
            via = f" (through the API, with a token issued by {decision.token_issued_by})"
        events.append(
            {
                "at": vote.created_at,
                "what": what + via,
                "who": line["who"],
                "text": vote.comment,
                "values": line["values"],
            }
        )
    if decision is not None and decision.delivered_at:
        delivered = {
            DeliveryState.DELIVERED: "Trigger.dev accepted the decision",
            DeliveryState.COMPLETED_ELSEWHERE: "The run had already been answered elsewhere",
            DeliveryState.TOKEN_GONE: "The run's wait had gone from Trigger.dev",
        }.get(DeliveryState(decision.delivery_state), decision.get_delivery_state_display())
        events.append(_event(decision.delivered_at, delivered))
    if approval.closed_at and decision is None:
        # Before the run's own events: a timeout ends the wait, then the run goes on.
        events.append(_event(approval.closed_at, _closed_words(approval)))
    if approval.run_resumed_at:
        events.append(_event(approval.run_resumed_at, "Run resumed"))
    if approval.run_stuck_at:
        events.append(
            _event(approval.run_stuck_at, "The run had not resumed after the decision was sent")
        )
    if approval.run_finished_at:
        events.append(_event(approval.run_finished_at, f"Run ended: {approval.run_status.lower()}"))
    # By time to the second (what the page shows), then in the order they were added, which
    # is the order things happen in: clocks of two systems put a run's resume a few
    # microseconds after its end, or a delivery before the vote it carries.
    return sorted(events, key=lambda event: event["at"].replace(microsecond=0))


def _event(at: datetime, what: str) -> dict[str, Any]:
    return {"at": at, "what": what, "who": "", "text": "", "values": []}


def _closed_words(approval: Approval) -> str:
    return {
        ApprovalState.TIMED_OUT: "Nobody decided in time: the run continued with a timeout",
        ApprovalState.COMPLETED_ELSEWHERE: "Answered outside this dashboard",
        ApprovalState.RUN_ENDED: "The run ended before a decision",
        ApprovalState.GONE: "The request was withdrawn on Trigger.dev",
    }.get(ApprovalState(approval.state), approval.get_state_display())


def detail_context(request: HttpRequest, approval: Approval, **panel: Any) -> dict[str, Any]:
    """The detail page's context for ``request.user``: the panel, the timeline, the run's
    tokens and who else is viewing; the live pushes render the same."""
    context = _panel_context(request, approval, **panel)
    names = presence.viewing([approval.pk]).get(approval.pk, [])
    me = people.display_name(request.user)
    requester = approval.requested_by
    context["requester_name"] = people.requester_names([requester]).get(requester, "")
    context.update(
        {
            "run_tokens": queries.run_tokens(approval),
            "timeline": _timeline(approval, context),
            "others_viewing": [name for name in names if name != me],
            "back_to_queue": queue_url(request),
            "next_pending": _next_pending(request, approval),
        }
    )
    return context


def _next_pending(request: HttpRequest, approval: Approval) -> Approval | None:
    """The approval after this one in the reviewer's queue (their filters and view)."""
    query = str(getattr(request, "session", {}).get(QUEUE_QUERY_SESSION_KEY, ""))
    reviewer = Reviewer(request.user)
    form = QueueFilterForm.for_reviewer(QueryDict(query), reviewer)
    return next_pending(form.rows(reviewer), after=approval, order=form.filters().order)


@require_safe
@login_required
def approval_detail(request: HtmxHttpRequest, token_id: str) -> HttpResponse:
    approval = get_object_or_404(Approval, token_id=token_id)
    context = detail_context(request, approval)
    context["confirm"] = _confirmation(request.GET.get("confirm"), context)
    return _render(request, "approvals/detail.html", "decision-panel", context)


def _confirmation(verdict: str | None, context: dict[str, Any]) -> dict[str, Any] | None:
    """What the page tells someone who followed an email's Approve or Reject link
    (``?confirm=``, approvals.notify.messages.page_url). The link only opens the page: the
    form's button (a POST with CSRF) decides. When this user may give that verdict now, the
    form's first field takes the focus; otherwise the note says why there is nothing to
    confirm. Any other value: nothing."""
    if verdict not in (Verdict.APPROVE, Verdict.REJECT):
        return None
    my_vote = context["my_vote"]
    blocked = context[f"{verdict}_blocked"]
    verb = "approve" if verdict == Verdict.APPROVE else "reject"
    if context["decision"] is not None:
        why = "this approval is already decided: there is nothing to confirm."
    elif not context["approval"].is_pending:
        why = "this approval no longer waits for a decision: there is nothing to confirm."
    elif context["expired_now"]:
        why = "this approval has expired: it can no longer be decided."
    elif my_vote is not None:
        voted = "approved" if my_vote.verdict == Verdict.APPROVE else "rejected"
        why = f"you already {voted} it: there is nothing more to confirm."
    elif blocked:
        why = f"you cannot {verb} it. {blocked}"
    else:
        why = ""
        form = context[f"{verdict}_form"]
        first = (
            next(iter(form.schema_bound_fields), form["comment"])
            if verdict == Verdict.APPROVE
            else form["reason"]
        )
        # Read with the field it lands on: a screen reader says why the focus is there.
        described = ["confirm-note"] + ([f"{first.auto_id}_helptext"] if first.help_text else [])
        first.field.widget.attrs.update(
            {"autofocus": True, "aria-describedby": " ".join(described)}
        )
    return {"verdict": verdict, "word": verb.capitalize(), "ready": not why, "why": why}


def _decided(
    request: HtmxHttpRequest,
    approval: Approval,
    *,
    verdict: str,
    form: ApproveForm | RejectForm,
    comment: str,
    fields: dict[str, Any] | None = None,
) -> HttpResponse:
    """Call the decision service and answer: the panel (htmx) or a redirect (plain post)."""
    forms: dict[str, Any] = (
        {"approve_form": form} if verdict == Verdict.APPROVE else {"reject_form": form}
    )
    try:
        result = decide(
            token_id=approval.token_id,
            actor=request.user,
            verdict=verdict,
            comment=comment,
            fields=fields,
        )
    except DecisionError as exc:
        apply_field_errors(form, exc.field_errors)
        return _refused(request, approval, forms, message=exc.message, status=exc.status)
    delivered_or_counted = result.delivery != "pending"
    if not _wants_partial(request):
        level = messages.SUCCESS if delivered_or_counted else messages.WARNING
        messages.add_message(request, level, capfirst(result.message))
        return redirect("approval_detail", token_id=approval.token_id)
    # A fresh row: the decision and votes were written after this one was loaded. The panel
    # comes with the page's other live parts (state line, run, timeline) swapped out of band,
    # so the page never says "Approved" beside "Pending".
    fresh = Approval.objects.get(pk=approval.pk)
    context = detail_context(
        request, fresh, outcome=result.message, outcome_ok=delivered_or_counted
    )
    return _render(request, "approvals/detail.html", "decision-panel-and-page", context)


def _refused(
    request: HtmxHttpRequest,
    approval: Approval,
    forms: dict[str, Any],
    *,
    message: str,
    status: int,
) -> HttpResponse:
    """Show why nothing was decided, beside the forms, with the matching 4xx status."""
    approval = Approval.objects.get(pk=approval.pk)
    closed = not approval.is_pending or (
        approval.expires_at is not None and approval.expires_at <= timezone.now()
    )
    if closed and not Decision.objects.filter(approval=approval).exists():
        message = ""  # the panel itself says it expired or closed, once
    context = detail_context(request, approval, outcome=message, outcome_ok=False, **forms)
    return _render(
        request, "approvals/detail.html", "decision-panel-and-page", context, status=status
    )


def _forbidden(
    request: HtmxHttpRequest, approval: Approval, verdict: str, forms: dict[str, Any]
) -> HttpResponse | None:
    """403 before looking at the input, for users who may not give this verdict
    (``decide`` checks again under the row lock; this only answers sooner and clearer)."""
    reason = refusal_reason(user=request.user, approval=approval, verdict=verdict)
    if reason is None:
        return None
    return _refused(request, approval, forms, message=reason, status=403)


@post_only
@login_required
def approve(request: HtmxHttpRequest, token_id: str) -> HttpResponse:
    approval = get_object_or_404(Approval, token_id=token_id)
    policy = policy_for(approval)
    form = ApproveForm(
        request.POST,
        schema=approval.form_schema,
        comment_required=bool(policy and policy.require_comment),
    )
    refusal = _forbidden(request, approval, Verdict.APPROVE, {"approve_form": form})
    if refusal is not None:
        return refusal
    if not form.is_valid():
        return _refused(
            request,
            approval,
            {"approve_form": form},
            message="Please correct the fields below.",
            status=400,
        )
    return _decided(
        request,
        approval,
        verdict=Verdict.APPROVE,
        form=form,
        comment=form.cleaned_data["comment"],
        fields=form.schema_values(),
    )


@post_only
@login_required
def reject(request: HtmxHttpRequest, token_id: str) -> HttpResponse:
    approval = get_object_or_404(Approval, token_id=token_id)
    form = RejectForm(request.POST)
    refusal = _forbidden(request, approval, Verdict.REJECT, {"reject_form": form})
    if refusal is not None:
        return refusal
    if not form.is_valid():
        return _refused(
            request,
            approval,
            {"reject_form": form},
            message="Please correct the fields below.",
            status=400,
        )
    return _decided(
        request, approval, verdict=Verdict.REJECT, form=form, comment=form.cleaned_data["reason"]
    )


# --- History ---------------------------------------------------------------------------------


@require_GET
@login_required
def history(request: HtmxHttpRequest) -> HttpResponse:
    facets = queries.history_facets()
    form = HistoryFilterForm(request.GET, reviewers=facets["reviewers"], tasks=facets["tasks"])
    page = queries.paginate(queries.decided_history(form.filters()), request.GET.get("page"))
    context = {"filter_form": form, "page": page}
    return _render(request, "approvals/history.html", "history-results", context)


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """200 while the database (and Redis, when set) answer; 503 naming what does not
    (approvals/readiness.py)."""
    missing = readiness.away()
    if missing:
        words = " and ".join(missing)
        return HttpResponse(
            f"not ready: {words} unreachable\n", status=503, content_type="text/plain"
        )
    return HttpResponse("ready", content_type="text/plain")
