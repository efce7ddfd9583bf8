"""The reviewer's pages: the queue, an approval's detail with its decision forms, the history.

Pages read only the database (``approvals.queries``); deciding goes through the one service
function, ``approvals.decisions.decide``. Each page is one template whose refreshable part is
an inline partial: htmx requests get the partial, plain requests the page, and the forms
work without JavaScript (post, redirect, message).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.text import capfirst
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from approvals import queries
from approvals.decisions import DecisionError, DecisionResult, decide, decide_many
from approvals.forms import (
    ApproveForm,
    BulkDecisionForm,
    HistoryFilterForm,
    QueueFilterForm,
    RejectForm,
    apply_field_errors,
)
from approvals.live import presence
from approvals.models import Approval, Verdict
from approvals.policies import DECIDE_PERMISSION, policy_for, refusal_reason

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
    token_id: str
    ok: bool
    message: str


def queue_context(request: HttpRequest) -> dict[str, Any]:
    """The queue page's context for ``request.user`` and ``request.GET`` (its filters); the
    live pushes render the same (approvals.live.fragments)."""
    facets = queries.queue_facets()
    form = QueueFilterForm(request.GET, tasks=facets["tasks"], statuses=facets["statuses"])
    page = queries.paginate(queries.pending_queue(form.filters()), request.GET.get("page"))
    page.object_list = list(page.object_list)  # read once: the rows and who views them
    return {
        "filter_form": form,
        "page": page,
        "query": request.GET.urlencode(),
        "may_decide": request.user.has_perm(DECIDE_PERMISSION),
        "viewing": presence.viewing(approval.pk for approval in page.object_list),
    }


@require_GET
@login_required
def queue(request: HtmxHttpRequest) -> HttpResponse:
    return _render(request, "approvals/queue.html", "queue-results", queue_context(request))


@require_POST
@login_required
def bulk_decide(request: HtmxHttpRequest) -> HttpResponse:
    """Approve or reject the ticked rows; every item is re-checked by ``decide_many``."""
    form = BulkDecisionForm(request.POST)
    report: list[BulkOutcome] = []
    status = 200
    if form.is_valid():
        results = decide_many(
            token_ids=form.cleaned_data["token_ids"],
            actor=request.user,
            verdict=form.cleaned_data["verdict"],
            comment=form.cleaned_data["reason"],
        )
        report = [_bulk_outcome(token_id, result) for token_id, result in results]
    else:
        status = 400
    if not _wants_partial(request):
        for line in report:
            level = messages.SUCCESS if line.ok else messages.ERROR
            messages.add_message(request, level, f"{line.token_id}: {capfirst(line.message)}")
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        # Back to the same filtered page (the query string rode along in the action URL).
        query = request.GET.urlencode()
        return redirect(reverse("home") + (f"?{query}" if query else ""))
    context = {**queue_context(request), "bulk_form": form, "bulk_report": report}
    return _render(request, "approvals/queue.html", "queue-results", context, status=status)


def _bulk_outcome(token_id: str, result: DecisionResult | DecisionError) -> BulkOutcome:
    if isinstance(result, DecisionError):
        return BulkOutcome(token_id=token_id, ok=False, message=result.message)
    return BulkOutcome(token_id=token_id, ok=True, message=result.message)


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
    votes = list(approval.votes.select_related("actor"))
    decision = getattr(approval, "decision", None)
    already_voted = any(vote.actor_id == user.pk for vote in votes)
    return {
        "approval": approval,
        "policy": policy,
        "approvals_required": max(1, policy.approvals_required) if policy else 1,
        "approve_votes": sum(1 for vote in votes if vote.verdict == Verdict.APPROVE),
        "votes": votes,
        "decision": decision,
        "already_voted": already_voted,
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
    }


def _timeline(approval: Approval, context: dict[str, Any]) -> list[dict[str, Any]]:
    """The approval's history, oldest first: seen, votes, decision, delivery, closing."""
    events: list[dict[str, Any]] = [
        {"at": approval.created_at, "what": "Token created upstream", "who": "", "text": ""},
        {"at": approval.first_seen_at, "what": "Seen by the dashboard", "who": "", "text": ""},
    ]
    decision = context["decision"]
    for vote in context["votes"]:
        verdict = "Approved" if vote.verdict == Verdict.APPROVE else "Rejected"
        events.append(
            {"at": vote.created_at, "what": verdict, "who": vote.actor_name, "text": vote.comment}
        )
    if decision is not None:
        events.append(
            {
                "at": decision.decided_at,
                "what": f"Decision: {decision.get_verdict_display().lower()}",
                "who": decision.actor_name,
                "text": decision.comment,
            }
        )
        if decision.delivered_at:
            events.append(
                {
                    "at": decision.delivered_at,
                    "what": decision.get_delivery_state_display(),
                    "who": "",
                    "text": "",
                }
            )
    if approval.run_resumed_at:
        events.append({"at": approval.run_resumed_at, "what": "Run resumed", "who": "", "text": ""})
    if approval.run_stuck_at:
        events.append(
            {
                "at": approval.run_stuck_at,
                "what": "Run had not resumed after the decision was delivered",
                "who": "",
                "text": "",
            }
        )
    if approval.run_finished_at:
        events.append(
            {
                "at": approval.run_finished_at,
                "what": f"Run ended: {approval.run_status}",
                "who": "",
                "text": "",
            }
        )
    if approval.closed_at:
        events.append(
            {
                "at": approval.closed_at,
                "what": approval.get_state_display(),
                "who": "",
                "text": approval.closed_reason,
            }
        )
    return sorted(events, key=lambda event: event["at"])


def detail_context(request: HttpRequest, approval: Approval, **panel: Any) -> dict[str, Any]:
    """The detail page's context for ``request.user``: the panel, the timeline, the run's
    tokens and who else is viewing; the live pushes render the same."""
    context = _panel_context(request, approval, **panel)
    names = presence.viewing([approval.pk]).get(approval.pk, [])
    me = presence.display_name(request.user)
    context.update(
        {
            "run_tokens": queries.run_tokens(approval),
            "timeline": _timeline(approval, context),
            "others_viewing": [name for name in names if name != me],
        }
    )
    return context


@require_GET
@login_required
def approval_detail(request: HtmxHttpRequest, token_id: str) -> HttpResponse:
    approval = get_object_or_404(Approval, token_id=token_id)
    context = detail_context(request, approval)
    return _render(request, "approvals/detail.html", "decision-panel", context)


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


@require_POST
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


@require_POST
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
