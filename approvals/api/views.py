"""The JSON API: the seed's endpoints, on the read model and the decision service.

    GET  /api/approvals                      pending approvals, from the database only
    POST /api/approvals/<tokenId>/approve    {"comments": "...", "fields": {...}}
    POST /api/approvals/<tokenId>/reject     {"reason": "..."}
    GET  /api/openapi.json                   the OpenAPI 3.1 description

Every answer is JSON, errors included (``{"success": false, "message", "code", "errors"}``);
nothing redirects. The acting user is the authenticated caller (``api_auth``), never a body
field: the seed's ``approvedBy`` is refused rather than silently ignored.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.views.decorators.csrf import csrf_exempt

from approvals import decisions, envelopes, queries
from approvals.api import openapi
from approvals.api.auth import Caller, CsrfRefused, Throttled, Unauthenticated, authenticate
from approvals.input_guard import MESSAGE as UNSTORABLE_MESSAGE
from approvals.input_guard import find_unstorable
from approvals.models import Approval, DeliveryState, Verdict

View = Callable[..., HttpResponse]

MAX_LIST_LIMIT = 1000
DEFAULT_LIST_LIMIT = 100


class BadRequest(Exception):
    def __init__(
        self, message: str, *, status: int = 400, errors: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors or {}


def failure(
    status: int, message: str, *, code: str, errors: dict[str, str] | None = None
) -> JsonResponse:
    body: dict[str, Any] = {"success": False, "message": message, "code": code}
    if errors:
        body["errors"] = errors
    response = JsonResponse(body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="approvals"'
    return response


def api_view(*methods: str) -> Callable[[View], View]:
    """Method check, authentication (bearer or session + CSRF), JSON errors for both."""

    def wrap(view: View) -> View:
        @csrf_exempt  # CSRF is enforced in authenticate() for session callers only
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = failure(405, f"Use {' or '.join(methods)}.", code="method_not_allowed")
                response["Allow"] = ", ".join(methods)
                return response
            try:
                caller = authenticate(request)
            except Unauthenticated as problem:
                return failure(401, problem.message, code="unauthenticated")
            except CsrfRefused as problem:
                return failure(403, problem.message, code="csrf")
            except Throttled as problem:
                return failure(429, problem.message, code="throttled")
            try:
                return view(request, caller, *args, **kwargs)
            except BadRequest as problem:
                return failure(
                    problem.status,
                    problem.message,
                    code="too_large" if problem.status == 413 else "invalid",
                    errors=problem.errors,
                )

        return wrapped

    return wrap


def read_json_object(request: HttpRequest, *, allowed: set[str]) -> dict[str, Any]:
    limit = settings.API_MAX_BODY_BYTES
    too_large = BadRequest(f"Request body too large (limit {limit:,} bytes).", status=413)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_large
    try:
        raw = request.body
    except RequestDataTooBig:
        raise too_large from None
    except RawPostDataException:
        # A multipart body has been streamed into request.POST (the input guard reads form
        # fields), so its raw bytes are gone; it was never JSON anyway.
        raise BadRequest("Send the body as JSON (Content-Type: application/json).") from None
    if len(raw) > limit:
        raise too_large
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("Malformed JSON in the request body.") from None
    place = find_unstorable(body)
    if place is not None:
        raise BadRequest(UNSTORABLE_MESSAGE, errors={place: UNSTORABLE_MESSAGE})
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    if "approvedBy" in body or "rejectedBy" in body:
        raise BadRequest(
            "approvedBy/rejectedBy are not accepted: the decision is made by the "
            "authenticated caller.",
            errors={k: "Not accepted." for k in ("approvedBy", "rejectedBy") if k in body},
        )
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(
            f"Unknown field(s): {', '.join(unknown)}.",
            errors=dict.fromkeys(unknown, "Unknown field."),
        )
    return body


def approval_json(approval: Approval) -> dict[str, Any]:
    return {
        "runId": approval.run_id,
        "tokenId": approval.token_id,
        "description": approval.description or "Approval required",
        "createdAt": envelopes.iso(approval.created_at),
        "expiresAt": envelopes.iso(approval.expires_at) if approval.expires_at else None,
        "task": approval.task_identifier,
        "runStatus": approval.run_status,
        "requestedBy": approval.requested_by or None,
        "tags": list(approval.run_tags or []),
        "payload": approval.payload,
        "context": approval.context,
        "schema": approval.form_schema,
        "url": f"/approvals/{approval.token_id}/",
    }


@api_view("GET")
def approvals_list(request: HttpRequest, caller: Caller) -> HttpResponse:
    """Pending approvals, soonest to expire first. Reads the database only."""
    try:
        limit = int(request.GET.get("limit", DEFAULT_LIST_LIMIT))
    except ValueError:
        raise BadRequest("limit must be a whole number.") from None
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise BadRequest(f"limit must be from 1 to {MAX_LIST_LIMIT}.")
    filters = queries.QueueFilters(task=request.GET.get("task", ""), tag=request.GET.get("tag", ""))
    # The queue page's own query, with the payload columns it defers read back in.
    rows = list(queries.pending_queue(filters).defer(None)[: limit + 1])
    return JsonResponse(
        {
            "approvals": [approval_json(a) for a in rows[:limit]],
            "hasMore": len(rows) > limit,
        }
    )


def _decide(request: HttpRequest, caller: Caller, token_id: str, verdict: str) -> HttpResponse:
    if verdict == Verdict.APPROVE:
        body = read_json_object(request, allowed={"comments", "fields"})
        text_key = "comments"
    else:
        body = read_json_object(request, allowed={"reason"})
        text_key = "reason"
    try:
        result = decisions.decide(
            token_id=token_id,
            actor=caller.user,
            verdict=verdict,
            comment=body.get(text_key, ""),
            fields=body.get("fields"),
            api_token=caller.token,
        )
    except decisions.DecisionError as refusal:
        return failure(
            refusal.status, refusal.message, code=refusal.code, errors=refusal.field_errors
        )
    decision = result.decision
    answer: dict[str, Any] = {
        "success": True,
        "message": result.message,
        "tokenId": token_id,
        "runId": result.approval.run_id,
        "decision": None,
        "delivery": result.delivery,
    }
    if decision is not None:
        answer["decision"] = "approved" if decision.verdict == Verdict.APPROVE else "rejected"
        answer["output"] = decision.envelope
    status = 200
    if result.delivery in (DeliveryState.COMPLETED_ELSEWHERE, DeliveryState.TOKEN_GONE):
        # Recorded here, but the run did not (and will not) receive this verdict.
        answer["success"] = False
        answer["code"] = result.delivery
        status = 409
    return JsonResponse(answer, status=status)


@api_view("POST")
def approve(request: HttpRequest, caller: Caller, token_id: str) -> HttpResponse:
    return _decide(request, caller, token_id, Verdict.APPROVE)


@api_view("POST")
def reject(request: HttpRequest, caller: Caller, token_id: str) -> HttpResponse:
    return _decide(request, caller, token_id, Verdict.REJECT)


@api_view("GET")
def openapi_json(request: HttpRequest, caller: Caller) -> HttpResponse:
    return JsonResponse(openapi.description(server_url=request.build_absolute_uri("/api")))


def not_found(request: HttpRequest) -> HttpResponse:
    """Any other path under /api/: JSON, like every API answer."""
    return failure(404, f"No API endpoint at {request.path[:200]!r}.", code="not_found")
