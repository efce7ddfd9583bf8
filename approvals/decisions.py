"""The decision service: the only way an approval gets approved or rejected (docs/design.md,
"Deciding").

Browser forms, the JSON API, bulk actions and the admin all call ``decide``:

1. validate the input (reason to reject, comment rules, size limits, the token's form schema);
2. authorise (reviewer permission, the policy's groups, the self-approval rule);
3. in one transaction: lock the approval row, refuse if it is decided, closed or expired,
   record the reviewer's ``Vote`` and, once the policy is satisfied (one rejection, or N
   distinct approvals), the ``Decision`` with the exact envelope to send;
4. after commit, deliver: complete the token, then retrieve it and compare its output with
   ours, because completing an already completed token answers 200 too (docs/trigger-v4.md,
   "Waitpoint tokens").

A delivery that fails stays ``pending`` and ``deliver_due`` (the sync worker) retries it with
backoff. Every attempt sends the stored envelope, so a decision is never lost and never
delivered as a different verdict.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from approvals import envelopes, limits
from approvals.events import Kind, approval_changed
from approvals.models import (
    ApiToken,
    Approval,
    ApprovalState,
    Decision,
    DeliveryState,
    Verdict,
    Vote,
)
from approvals.policies import DECIDE_PERMISSION, Rules, policy_for, refusal_reason
from approvals.trigger import NotFoundError, RetryPolicy, TriggerClient, TriggerError
from approvals.upstream import trigger_client

logger = logging.getLogger(__name__)

# Longest comment or reason accepted (approvals.limits).
MAX_TEXT_LENGTH = limits.COMMENT_MAX

AWAITING_MORE_APPROVALS = "awaiting_more_approvals"

_CLOSED_MESSAGES = {
    ApprovalState.COMPLETED_ELSEWHERE: "this approval was completed elsewhere",
    ApprovalState.TIMED_OUT: "this approval expired",
    ApprovalState.RUN_ENDED: "this approval's run has ended",
    ApprovalState.GONE: "this approval's token no longer exists on Trigger.dev",
}


# --- Errors -------------------------------------------------------------------------------------


class DecisionError(Exception):
    """Why a decision was refused. ``status`` is the HTTP status that fits it."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors: dict[str, str] = dict(field_errors or {})

    def __str__(self) -> str:
        return self.message


class InvalidDecision(DecisionError):
    status = 400
    code = "invalid"


class NotPermitted(DecisionError):
    status = 403
    code = "forbidden"


class ApprovalNotFound(DecisionError):
    status = 404
    code = "not_found"


class AlreadyDecided(DecisionError):
    status = 409
    code = "already_decided"


class AlreadyVoted(AlreadyDecided):
    """This reviewer already approved; the approval still waits for others (N of M)."""

    code = "already_voted"


class ApprovalClosed(DecisionError):
    status = 409
    code = "closed"


# --- Result -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionResult:
    approval: Approval
    vote: Vote
    decision: Decision | None  # None while an N-of-M policy still needs approvals
    delivery: str  # a DeliveryState value, or AWAITING_MORE_APPROVALS
    message: str
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def verdict(self) -> str | None:
        return self.decision.verdict if self.decision else None


def outcome_message(decision: Decision) -> str:
    """What to tell the person who decided, given the delivery state."""
    done = "Approved" if decision.verdict == Verdict.APPROVE else "Rejected"
    state = decision.delivery_state
    if state == DeliveryState.DELIVERED:
        return f"{done}: Trigger.dev has resumed the run."
    if state == DeliveryState.COMPLETED_ELSEWHERE:
        return (
            f"{done} here, but the token was already completed elsewhere; "
            "the run continued with the other outcome."
        )
    if state == DeliveryState.TOKEN_GONE:
        return f"{done} here, but the token no longer exists on Trigger.dev."
    return f"{done}. Trigger.dev is unreachable: your decision is saved and will be delivered."


def already_decided_message(decision: Decision) -> str:
    when = timezone.localtime(decision.decided_at).strftime("%Y-%m-%d %H:%M:%S %Z")
    return f"already decided by {decision.actor_label} at {when}; what you sent was not recorded"


def _identity(actor: Any) -> dict[str, str]:
    """The actor as named now, stored with the vote or decision (a later rename changes
    nothing in the audit log)."""
    return {"actor_name": actor.get_username(), "actor_email": (actor.email or "").strip()}


def _via(api_token: ApiToken | None) -> dict[str, Any]:
    if api_token is None:
        return {}
    return {
        "api_token": api_token,
        "api_token_hint": api_token.hint,
        "token_issued_by": api_token.issuer_label,
    }


# --- Deciding -----------------------------------------------------------------------------------


def _validate_text(*, verdict: str, comment: Any, rules: Rules | None) -> str:
    name = "reason" if verdict == Verdict.REJECT else "comments"
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise InvalidDecision("Invalid input.", field_errors={name: "Must be text."})
    if len(comment) > MAX_TEXT_LENGTH:
        raise InvalidDecision(
            "Invalid input.",
            field_errors={name: f"Keep it under {MAX_TEXT_LENGTH:,} characters."},
        )
    text = comment.strip()
    if "\x00" in text:
        raise InvalidDecision("Invalid input.", field_errors={name: "Must not contain NUL."})
    if verdict == Verdict.REJECT and not text:
        raise InvalidDecision(
            "A reason is required to reject.",
            field_errors={"reason": "A reason is required to reject."},
        )
    if rules is not None and rules.require_comment and not text:
        raise InvalidDecision(
            "This approval's policy requires a comment.",
            field_errors={name: "A comment is required by this approval's policy."},
        )
    return text


def decide(
    *,
    token_id: str,
    actor: Any,
    verdict: str,
    comment: str = "",
    fields: dict[str, Any] | None = None,
    deliver_now: bool = True,
    api_token: ApiToken | None = None,
) -> DecisionResult:
    """Record ``actor``'s verdict on the approval of ``token_id`` and, when it settles the
    approval, deliver it. ``comment`` is the comment of an approval or the reason of a
    rejection; ``api_token`` is the token the JSON API was called with, if any (the audit
    log records it and who issued it). Raises a ``DecisionError`` (nothing saved) when the
    verdict is refused."""
    checked = _check(
        token_id=token_id, actor=actor, verdict=verdict, comment=comment, fields=fields
    )
    with transaction.atomic():
        approval, vote, decision = _record(
            approval_pk=checked.approval.pk, actor=actor, verdict=verdict, text=checked.text,
            fields=checked.fields, rules=checked.rules, api_token=api_token,
        )  # fmt: skip
    if decision is None:
        return _awaiting_more(approval, vote, checked.rules)
    state: str = decision.delivery_state
    if deliver_now:
        state = _deliver_after_commit(decision)
    return DecisionResult(
        approval=approval,
        vote=vote,
        decision=decision,
        delivery=state,
        message=outcome_message(decision),
    )


@dataclass(frozen=True)
class _Checked:
    """A verdict that passed every check made before the row lock."""

    approval: Approval
    rules: Rules
    text: str
    fields: dict[str, Any]


def _check(
    *, token_id: str, actor: Any, verdict: str, comment: Any, fields: dict[str, Any] | None
) -> _Checked:
    """Steps 1 and 2: validate the input, then authorise the actor under the policy."""
    if verdict not in Verdict.values:
        raise InvalidDecision("Invalid input.", field_errors={"verdict": "Approve or reject."})
    _validate_text(verdict=verdict, comment=comment, rules=None)
    if verdict == Verdict.REJECT and fields:
        raise InvalidDecision(
            "Invalid input.", field_errors={"fields": "Form fields go with an approval."}
        )
    if not actor.is_authenticated or not actor.has_perm(DECIDE_PERMISSION):
        raise NotPermitted("You do not have permission to decide approvals.")
    approval = Approval.objects.filter(token_id=token_id).first()
    if approval is None:
        raise ApprovalNotFound(f"No approval with token {token_id!r}.")
    policy = policy_for(approval)
    refusal = refusal_reason(user=actor, approval=approval, verdict=verdict, policy=policy)
    if refusal:
        raise NotPermitted(refusal)
    rules = Rules.of(policy)
    text = _validate_text(verdict=verdict, comment=comment, rules=rules)
    clean_fields: dict[str, Any] = {}
    if verdict == Verdict.APPROVE:
        clean_fields, errors = envelopes.validate_fields(approval.form_schema, fields)
        if errors:
            raise InvalidDecision("Some fields need attention.", field_errors=errors)
    return _Checked(approval=approval, rules=rules, text=text, fields=clean_fields)


def _awaiting_more(approval: Approval, vote: Vote, rules: Rules) -> DecisionResult:
    count = approval.votes.filter(verdict=Verdict.APPROVE).count()
    needed = rules.approvals_required - count
    return DecisionResult(
        approval=approval,
        vote=vote,
        decision=None,
        delivery=AWAITING_MORE_APPROVALS,
        message=(
            f"Your approval is recorded ({count} of {rules.approvals_required}); "
            f"it needs {needed} more before the run continues."
        ),
    )


def _deliver_after_commit(decision: Decision) -> str:
    """Step 4, now when our rows are committed; the delivery state afterwards."""
    if transaction.get_connection().in_atomic_block:
        # Called inside someone else's transaction: our rows are not committed yet, so
        # delivering now could send a verdict that is then rolled back.
        transaction.on_commit(lambda: _deliver_quietly(decision.pk))
        return str(decision.delivery_state)
    state = deliver(decision=decision)
    decision.refresh_from_db()
    return state


def _record(
    *,
    approval_pk: int,
    actor: Any,
    verdict: str,
    text: str,
    fields: dict[str, Any],
    rules: Rules,
    api_token: ApiToken | None = None,
) -> tuple[Approval, Vote, Decision | None]:
    """Step 3, inside ``transaction.atomic``: the lock, the checks that need it, the vote and,
    when the policy is satisfied, the decision."""
    approval = Approval.objects.select_for_update().get(pk=approval_pk)
    now = timezone.now()
    _refuse_if_settled(approval, actor, now)
    vote = _cast_vote(approval, actor, verdict, text, fields, now, api_token)
    envelope = _settling_envelope(approval, actor, verdict, text, rules, now)
    if envelope is None:
        approval_changed(Kind.VOTED, approval_id=approval.pk, token_id=approval.token_id)
        return approval, vote, None
    decision = _settle(approval, actor, verdict, text, envelope, now, api_token)
    approval_changed(Kind.DECIDED, approval_id=approval.pk, token_id=approval.token_id)
    return approval, vote, decision


def _refuse_if_settled(approval: Approval, actor: Any, now: datetime) -> None:
    existing = Decision.objects.select_related("actor").filter(approval=approval).first()
    if existing is not None:
        raise AlreadyDecided(already_decided_message(existing))
    if approval.state != ApprovalState.PENDING:
        message = _CLOSED_MESSAGES.get(
            ApprovalState(approval.state), "this approval is no longer pending"
        )
        raise ApprovalClosed(message)
    if approval.expires_at is not None and approval.expires_at <= now:
        raise ApprovalClosed("this approval expired")
    previous = approval.votes.filter(actor=actor).first()
    if previous is not None:
        raise AlreadyVoted(
            f"you already {'approved' if previous.verdict == Verdict.APPROVE else 'rejected'}"
            f" this at {timezone.localtime(previous.created_at):%Y-%m-%d %H:%M:%S %Z};"
            " it is waiting for other reviewers"
        )


def _cast_vote(
    approval: Approval,
    actor: Any,
    verdict: str,
    text: str,
    fields: dict[str, Any],
    now: datetime,
    api_token: ApiToken | None,
) -> Vote:
    try:
        with transaction.atomic():
            return Vote.objects.create(
                approval=approval, actor=actor, verdict=verdict, comment=text,
                fields=fields, created_at=now, **_identity(actor), **_via(api_token),
            )  # fmt: skip
    except IntegrityError:
        # Only reachable without a real row lock (SQLite): the same reviewer raced themselves.
        raise AlreadyVoted("you already voted on this approval") from None


def _settling_envelope(
    approval: Approval, actor: Any, verdict: str, text: str, rules: Rules, now: datetime
) -> dict[str, Any] | None:
    """The output the token will receive, once this vote settles the approval; ``None`` while
    an N-of-M policy still needs approvals. One rejection settles at once."""
    label = envelopes.actor_label(actor)
    if verdict == Verdict.REJECT:
        return envelopes.rejected_envelope(rejected_by=label, reason=text, rejected_at=now)
    approvals = list(approval.votes.filter(verdict=Verdict.APPROVE).order_by("created_at", "pk"))
    if len(approvals) < rules.approvals_required:
        return None
    merged: dict[str, Any] = {}
    for earlier in approvals:
        merged.update(earlier.fields or {})
    return envelopes.approved_envelope(
        approved_by=label,
        comments=text,
        approved_at=now,
        fields=merged,
        # Each approver as named when they voted (the snapshot on the vote).
        approvers=(
            [v.actor_email or v.actor_name for v in approvals]
            if rules.approvals_required > 1
            else None
        ),
    )


def _settle(
    approval: Approval,
    actor: Any,
    verdict: str,
    text: str,
    envelope: dict[str, Any],
    now: datetime,
    api_token: ApiToken | None,
) -> Decision:
    try:
        with transaction.atomic():
            decision = Decision.objects.create(
                approval=approval, actor=actor, verdict=verdict, comment=text,
                envelope=envelope, decided_at=now, next_attempt_at=now,
                **_identity(actor), **_via(api_token),
            )  # fmt: skip
    except IntegrityError:
        # Only reachable without a real row lock (SQLite): the one-to-one still holds.
        winner = Decision.objects.select_related("actor").get(approval=approval)
        raise AlreadyDecided(already_decided_message(winner)) from None
    approval.state = ApprovalState.DECIDED
    approval.closed_at = now
    approval.closed_reason = (
        f"{'approved' if verdict == Verdict.APPROVE else 'rejected'} by "
        f"{envelopes.actor_label(actor)}"
    )
    approval.save(update_fields=["state", "closed_at", "closed_reason"])
    return decision


def decide_many(
    *,
    token_ids: list[str],
    actor: Any,
    verdict: str,
    comment: str = "",
) -> list[tuple[str, DecisionResult | DecisionError]]:
    """Bulk approve or reject: each token goes through ``decide`` on its own, so each is
    re-checked (permission, policy, state) and one refusal does not stop the others.

    All verdicts are recorded first; the deliveries then run concurrently, and the answer
    comes once they are done or ``APPROVAL_BULK_WAIT_SECONDS`` have passed, whichever is
    first. Twenty tokens behind a slow Trigger.dev used to take 20 × (complete + retrieve)
    in a row, beyond a browser's patience, though every one was delivered in the end
    (docs/hardening.md, "Bulk decisions"). A delivery still under way when the answer goes
    out carries on in the background; the worker retries any that fail."""
    outcomes: list[tuple[str, DecisionResult | DecisionError]] = []
    for token_id in dict.fromkeys(token_ids):  # once each, in the order given
        try:
            result = decide(
                token_id=token_id, actor=actor, verdict=verdict, comment=comment, deliver_now=False
            )
        except DecisionError as refusal:
            outcomes.append((token_id, refusal))
        else:
            outcomes.append((token_id, result))
    recorded = [
        result.decision
        for _, result in outcomes
        if isinstance(result, DecisionResult) and result.decision is not None
    ]
    states = _deliver_concurrently(recorded)
    return [(token_id, _with_delivery(result, states)) for token_id, result in outcomes]


# Deliveries of one bulk action at once: enough to hide Trigger.dev's latency, few enough to
# stay far below its rate limit (1,500 requests a minute per environment).
BULK_DELIVERY_CONCURRENCY = 10


def _deliver_concurrently(decisions: list[Decision]) -> dict[int, str]:
    """Deliver each decision on a thread of its own; the states of those done in time."""
    if not decisions:
        return {}
    if transaction.get_connection().in_atomic_block:
        # Inside the caller's transaction our rows are not committed: deliver after commit.
        for decision in decisions:
            transaction.on_commit(partial(_deliver_quietly, decision.pk))
        return {}
    wait_seconds = float(getattr(settings, "APPROVAL_BULK_WAIT_SECONDS", 10.0))
    # SQLite has one writer, and a transaction that read first cannot wait for the write
    # lock (it fails with "database is locked"): deliver one after another there.
    # Each delivery holds a pooled connection through its Trigger.dev calls: use at most half
    # the pool, so that page views in this process still find connections meanwhile.
    pool_share = max(1, int(getattr(settings, "DATABASE_POOL_MAX_SIZE", 10)) // 2)
    concurrency = 1 if connection.vendor == "sqlite" else min(BULK_DELIVERY_CONCURRENCY, pool_share)
    pool = ThreadPoolExecutor(
        max_workers=min(concurrency, len(decisions)),
        thread_name_prefix="approvals-delivery",
    )
    futures = {pool.submit(_deliver_on_own_connection, d.pk): d.pk for d in decisions}
    done, _still_running = wait(futures, timeout=wait_seconds)
    pool.shutdown(wait=False)  # the rest finish in the background
    return {futures[future]: future.result() for future in done if future.exception() is None}


def _deliver_on_own_connection(decision_pk: int) -> str:
    try:
        return deliver(decision=Decision.objects.get(pk=decision_pk))
    finally:
        connections.close_all()  # this thread's connections only


def _with_delivery(
    result: DecisionResult | DecisionError, states: dict[int, str]
) -> DecisionResult | DecisionError:
    if not isinstance(result, DecisionResult) or result.decision is None:
        return result
    decision = result.decision
    state = states.get(decision.pk)
    if state is None:
        verb = "Approved" if decision.verdict == Verdict.APPROVE else "Rejected"
        return replace(
            result,
            delivery=DeliveryState.PENDING,
            message=f"{verb}. Delivery to Trigger.dev is under way; your decision is saved.",
        )
    decision.refresh_from_db()
    return replace(result, delivery=state, message=outcome_message(decision))


# --- Delivering ---------------------------------------------------------------------------------


def delivery_client() -> TriggerClient:
    """A client with a short retry policy: a person is waiting. The worker does the rest."""
    return trigger_client(
        retry=RetryPolicy(
            max_attempts=max(1, int(getattr(settings, "APPROVAL_DELIVERY_ATTEMPTS", 2))),
            min_delay=0.2,
            max_delay=1.0,
        ),
        timeout=float(getattr(settings, "APPROVAL_DELIVERY_TIMEOUT_SECONDS", 5.0)),
    )


def backoff_delay(attempts: int) -> timedelta:
    """Wait before retry number ``attempts`` + 1: doubling from the base, capped."""
    policy = RetryPolicy(
        min_delay=float(getattr(settings, "APPROVAL_DELIVERY_BACKOFF_SECONDS", 2.0)),
        max_delay=float(getattr(settings, "APPROVAL_DELIVERY_MAX_BACKOFF_SECONDS", 300.0)),
        factor=2.0,
    )
    return timedelta(seconds=policy.backoff(attempts))


def deliver(*, decision: Decision, client: TriggerClient | None = None) -> str:
    """One delivery attempt; returns the decision's delivery state afterwards.

    The decision row is locked (``skip_locked``) for the attempt, so two processes never
    deliver the same decision at once; if another holds it, this returns at once with the
    state as last committed. Delivered, completed-elsewhere and gone decisions are final.
    """
    # ``of=("self",)``: lock the decision row only. Locking the joined approval row too would
    # make this skip whenever reviewers are queued on that row in ``decide``.
    with transaction.atomic():
        locked = (
            Decision.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("approval")
            .filter(pk=decision.pk)
            .first()
        )
        if locked is None:
            return Decision.objects.values_list("delivery_state", flat=True).get(pk=decision.pk)
        if locked.delivery_state != DeliveryState.PENDING:
            return str(locked.delivery_state)
        if client is None:
            with delivery_client() as own_client:
                _attempt(locked, own_client)
        else:
            _attempt(locked, client)
        return str(locked.delivery_state)


def _attempt(decision: Decision, client: TriggerClient, *, now: datetime | None = None) -> None:
    """Complete, verify, classify, and save the bookkeeping (inside the caller's lock).
    Backoff counts from ``now`` (the worker's clock for this pass)."""
    token_id = decision.approval.token_id
    now = now or timezone.now()
    decision.attempts += 1
    try:
        client.waitpoints.complete(token_id, decision.envelope)
        try:
            token = client.waitpoints.retrieve(token_id)
        except NotFoundError as missing:
            # Complete has just accepted this token, so it exists and Trigger.dev holds our
            # verdict: a "not found" on the look that follows (the real server answers a
            # missing token with 500, which the client reads as not found; a 404 from a
            # proxy or a replica that lags) is a failed look, not a gone token. Retry; if
            # the token really is gone, the next complete says so (docs/hardening.md).
            raise TriggerError(missing.message, status=missing.status, retryable=True) from None
    except NotFoundError as gone:
        decision.delivery_state = DeliveryState.TOKEN_GONE
        decision.last_error = gone.message
        _save_delivery(decision, approval_state=ApprovalState.GONE)
        logger.warning("decision %s: token %s is gone: %s", decision.pk, token_id, gone)
        return
    except TriggerError as failure:
        decision.last_error = failure.message
        decision.next_attempt_at = now + backoff_delay(decision.attempts)
        _save_delivery(decision)
        logger.warning(
            "decision %s: delivery attempt %d failed (%s); next at %s",
            decision.pk, decision.attempts, failure, decision.next_attempt_at,
        )  # fmt: skip
        return
    if (
        token.status == "COMPLETED"
        and not token.output_is_error
        and token.output == (decision.envelope)
    ):
        decision.delivery_state = DeliveryState.DELIVERED
        decision.delivered_at = token.completed_at or now
        decision.last_error = ""
        _save_delivery(decision)
        return
    if token.status in ("COMPLETED", "TIMED_OUT"):
        # Somebody (or the timeout) completed it first; the run got that output, not ours.
        decision.delivery_state = DeliveryState.COMPLETED_ELSEWHERE
        decision.upstream_output = token.output
        decision.last_error = (
            "the token timed out before delivery"
            if token.status == "TIMED_OUT"
            else "the token was completed with another output"
        )
        _save_delivery(decision)
        return
    # Still WAITING after a successful complete: the completion was lost on the way. Retry.
    decision.last_error = f"token still {token.status} after completing it"
    decision.next_attempt_at = now + backoff_delay(decision.attempts)
    _save_delivery(decision)


def _save_delivery(decision: Decision, *, approval_state: str | None = None) -> None:
    decision.save(
        update_fields=[
            "delivery_state", "attempts", "next_attempt_at", "last_error", "delivered_at",
            "upstream_output",
        ]
    )  # fmt: skip
    if approval_state is not None:
        Approval.objects.filter(pk=decision.approval_id).update(state=approval_state)
    approval_changed(
        Kind.DELIVERY, approval_id=decision.approval_id, token_id=decision.approval.token_id
    )


def _deliver_quietly(decision_pk: int) -> None:
    try:
        deliver(decision=Decision.objects.get(pk=decision_pk))
    except Exception:  # the worker retries; a failure here must not break the caller
        logger.exception("decision %s: delivery after commit failed", decision_pk)


def deliver_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """The worker's pass: one delivery attempt for each pending decision that is due, oldest
    first. Decisions another process is delivering right now are skipped (``skip_locked``).
    Safe to run again at any time, from any number of processes. Returns how many decisions
    this pass attempted."""
    now = now or timezone.now()
    due = list(
        Decision.objects.filter(delivery_state=DeliveryState.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return 0
    attempted = 0
    with delivery_client() as client:
        for pk in due:
            with transaction.atomic():
                decision = (
                    Decision.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("approval")
                    .filter(pk=pk, delivery_state=DeliveryState.PENDING)
                    .first()
                )
                if decision is None:
                    continue
                _attempt(decision, client, now=now)
                attempted += 1
    return attempted
