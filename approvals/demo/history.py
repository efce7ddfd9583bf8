"""A little history for the demo: one approval approved by both demo reviewers, one rejected,
one that timed out, recorded through the dashboard's real paths.

Why a sandbox of its own: the embedded sandbox lives in the web process, which ``make run``
starts after ``prepare_demo`` has finished, and every boot starts a new world (ids included).
So history always comes from an earlier world, whatever records it. This replays the story
(approvals.sandbox.history) in a world of its own, in this process, the way it would have
happened: the sync sees the three requests waiting and imports them; the demo reviewers decide
two through the decision service, which delivers to that world; the clock runs past the third's
timeout and every run finishes; the sync closes the timed-out one and follows the runs to their
end. No row is written by hand: they are exactly what the dashboard writes for real. Afterwards
the rows are decided or closed, with their runs finished, so no later sync of any world looks at
them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model

from approvals.decisions import decide, deliver
from approvals.models import Approval, ApprovalState, Verdict
from approvals.sandbox import DEFAULT_SECRET_KEY, SandboxApp, SandboxTransport, create_app
from approvals.sandbox.history import (
    APPROVED,
    HISTORY_TAG,
    REJECTED,
    PastRequest,
    past_requests,
)
from approvals.sandbox.models import Run, Token
from approvals.sandbox.scenario import RESUME_SECONDS
from approvals.sync import apply_run_change, sync_once
from approvals.trigger import TriggerClient
from approvals.upstream import SANDBOX_BASE_URL


class HistoryError(RuntimeError):
    """The replay did not go as the story says (nothing about it is left half-decided)."""


@dataclass(frozen=True)
class DemoVote:
    verdict: str
    username: str
    comment: str


def _votes(outcome: str) -> list[DemoVote]:
    first, second = settings.DEMO_REVIEWER_USERNAME, settings.DEMO_SECOND_REVIEWER_USERNAME
    if outcome == APPROVED:  # the deploy policy needs two reviewers
        return [
            DemoVote(
                Verdict.APPROVE,
                first,
                "Canary was clean for 30 minutes; the migration is additive.",
            ),
            DemoVote(Verdict.APPROVE, second, "Checked the rounding change with finance."),
        ]
    if outcome == REJECTED:
        return [
            DemoVote(
                Verdict.REJECT,
                second,
                "The payment provider already refunded this charge; a second refund would pay"
                " the customer twice.",
            )
        ]
    return []  # the one that times out: nobody decides


def recorded_outcomes() -> set[str]:
    """Which of the story's outcomes the database already holds (decided or closed)."""
    outcomes: set[str] = set()
    prefix = f"{HISTORY_TAG}:"
    for tags in Approval.objects.exclude(state=ApprovalState.PENDING).values_list(
        "run_tags", flat=True
    ):
        outcomes.update(
            tag.removeprefix(prefix)
            for tag in tags or []
            if isinstance(tag, str) and tag.startswith(prefix)
        )
    return outcomes


def record_history() -> list[str]:
    """Replay the outcomes not recorded yet; the outcomes recorded now (none the second time)."""
    done = recorded_outcomes()
    wanted = [past for past in past_requests() if past.outcome not in done]
    if not wanted:
        return []
    sandbox = create_app(scenario="empty", seed=settings.TRIGGER_SANDBOX_SEED)
    try:
        with TriggerClient(
            DEFAULT_SECRET_KEY, SANDBOX_BASE_URL, transport=SandboxTransport(sandbox)
        ) as client:
            _replay(sandbox, client, wanted)
    finally:
        sandbox.stop()
    return [past.outcome for past in wanted]


def _replay(sandbox: SandboxApp, client: TriggerClient, wanted: list[PastRequest]) -> None:
    started = [
        (past, *sandbox.scenario.start_approval(past.request, age=past.age)) for past in wanted
    ]
    _sync(client)  # the requests, waiting: imported like any other
    for past, _run, token in started:
        if not Approval.objects.filter(
            token_id=token.friendly_id, state=ApprovalState.PENDING
        ).exists():
            raise HistoryError(f"the sync did not import the {past.outcome} request")
    User = get_user_model()
    for past, _run, token in started:
        for vote in _votes(past.outcome):
            result = decide(
                token_id=token.friendly_id,
                actor=User.objects.get(username=vote.username),
                verdict=vote.verdict,
                comment=vote.comment,
                deliver_now=False,  # delivered below, to this replay's world
            )
            if result.decision is not None:
                deliver(decision=result.decision, client=client)
    _let_time_pass(sandbox, [run for _past, run, _token in started])
    now = sandbox.clock.now()
    _sync(client, now=now)  # closes the timed-out one, follows the decided runs to their end
    for _past, run, _token in started:
        # What the realtime follower does with a run it sees finish: the closed approval's run
        # gets its end too (the reconcile follows only decided ones).
        apply_run_change(run=client.runs.retrieve(run.friendly_id), client=client, now=now)


def _sync(client: TriggerClient, now: datetime | None = None) -> None:
    report = sync_once(client=client, now=now)
    if not report.ok:
        raise HistoryError(f"sync failed: {report.error}")


def _let_time_pass(sandbox: SandboxApp, runs: list[Run]) -> None:
    """Jump the replay world's clock past every pending token's timeout, then until every run
    has finished (a few sandbox seconds; no real waiting)."""
    world = sandbox.world
    for _ in range(10):  # a bound: each round times out or finishes what is due
        with world.lock:
            pending: list[Token] = [
                token
                for token in world.tokens.values()
                if token.timeout_at is not None and token.completed_at is None
            ]
            unfinished = [run for run in runs if world.runs[run.id].completed_at is None]
            if not pending and not unfinished:
                return
            now = sandbox.clock.now()
            due = max((token.timeout_at for token in pending if token.timeout_at), default=now)
        step = max(due - now, timedelta(0)) + timedelta(seconds=RESUME_SECONDS + 0.1)
        sandbox.clock.advance(step.total_seconds())
        sandbox.scenario.tick()
    raise HistoryError("the replay's runs did not finish")
