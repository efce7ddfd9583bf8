"""A restart of ``make run`` starts a new sandbox world; the database still holds the last one's.

The embedded sandbox lives in the web process's memory: when the process stops, its runs and
tokens are gone for good, and the next boot starts a new world whose ids no earlier world used
(approvals.sandbox.world). An approval still pending when ``prepare_demo`` runs (before the web
process starts) therefore waits on a token that no longer exists anywhere.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import ProtectedError

from approvals.models import Approval, ApprovalState


def forget_untouched_pending() -> int:
    """Delete the pending approvals of earlier worlds that nobody acted on; how many.

    Left to the sync, each would become "Token gone" and join the History page, a few more at
    every restart, burying the history a reviewer made. Nothing is lost: they were generated
    requests nobody voted on or decided. Approvals with a vote or a decision are kept (the
    audit log is never deleted) and the sync closes those still pending as gone, as it would
    for any token that disappeared. Run while a web process serves the same database, this
    only costs a moment: its sync re-imports its own world's pending approvals on the next pass.
    """
    untouched = Approval.objects.filter(
        state=ApprovalState.PENDING, votes__isnull=True, decision__isnull=True
    )
    try:
        with transaction.atomic():
            deleted, by_model = untouched.delete()
    except ProtectedError:  # something else refers to them now: leave them to the sync
        return 0
    return by_model.get(Approval._meta.label, 0) if deleted else 0
