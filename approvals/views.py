from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from approvals.pending import PendingApproval, pending_approvals
from approvals.trigger import TriggerError
from approvals.upstream import trigger_client

logger = logging.getLogger(__name__)


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    approvals: list[PendingApproval] = []
    error: str | None = None
    try:
        with trigger_client() as client:
            approvals = pending_approvals(
                client,
                tag=settings.APPROVAL_TAG or "needs-approval",
                awaiting_statuses=settings.APPROVAL_AWAITING_STATUSES,
            )
    except TriggerError as exc:
        # TriggerError messages never contain the secret key (the client redacts it).
        logger.warning("Could not read pending approvals from Trigger.dev: %s", exc)
        error = f"Trigger.dev could not be read: {exc.message}"
    return render(request, "approvals/home.html", {"approvals": approvals, "error": error})


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
