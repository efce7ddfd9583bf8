"""Restarting ``make run``: the embedded sandbox starts a new world while the database keeps the
last one's rows. Nothing decided or closed may reopen, nothing may be duplicated, and the queue
shows exactly the new world's requests.

Before each world had ids of its own, a restart re-issued the previous world's ids: a decided
approval's token was waiting again upstream, and the sync took the new runs for the old ones."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from approvals.decisions import decide, deliver
from approvals.models import Approval, ApprovalState, DeliveryState, Verdict
from approvals.sandbox import DEFAULT_SECRET_KEY, SandboxApp, SandboxTransport, create_app
from approvals.sync import sync_once
from approvals.sync.reconcile import SYNC_RETRY
from approvals.trigger import TriggerClient
from approvals.upstream import SANDBOX_BASE_URL

SEED = 1  # the seed of `make run`


class Boot:
    """One start of `make run`: prepare_demo, then the web process's sandbox and its sync."""

    def __init__(self) -> None:
        call_command("prepare_demo", stdout=StringIO())
        self.sandbox: SandboxApp = create_app(scenario="demo", seed=SEED)
        self.client = TriggerClient(
            DEFAULT_SECRET_KEY,
            SANDBOX_BASE_URL,
            retry=SYNC_RETRY,  # as the web process's sync
            transport=SandboxTransport(self.sandbox),
        )

    def sync(self) -> None:
        report = sync_once(client=self.client)
        assert report.ok, report.error

    def waiting_tokens(self) -> set[str]:
        with self.sandbox.world.lock:
            return {
                token.friendly_id
                for token in self.sandbox.world.tokens.values()
                if token.status == "PENDING"
            }

    def stop(self) -> None:
        self.client.close()
        self.sandbox.stop()


@pytest.fixture
def boots() -> Iterator[list[Boot]]:
    started: list[Boot] = []
    yield started
    for boot in started:
        boot.stop()


def _states() -> dict[str, str]:
    return dict(Approval.objects.values_list("token_id", "state"))


def test_a_restart_neither_reopens_nor_duplicates_anything(db: None, boots: list[Boot]) -> None:
    first = Boot()
    boots.append(first)
    first.sync()
    # A reviewer decides one of the first world's requests (not one needing two reviewers).
    decided = Approval.objects.filter(state=ApprovalState.PENDING).exclude(
        task_identifier__in=["deploy-production", "approve-invoice"]
    )[0]
    result = decide(
        token_id=decided.token_id,
        actor=get_user_model().objects.get(username="demo"),
        verdict=Verdict.REJECT,
        comment="Not this week.",
        deliver_now=False,
    )
    assert result.decision is not None
    assert deliver(decision=result.decision, client=first.client) == DeliveryState.DELIVERED
    # The first boot runs on a little: its run resumes, finishes, and the sync follows it.
    first.sandbox.clock.advance(2)
    first.sandbox.scenario.tick()
    first.sandbox.clock.advance(1)
    first.sandbox.scenario.tick()
    first.sync()
    settled_before = {
        token: state for token, state in _states().items() if state != ApprovalState.PENDING
    }
    first.stop()

    second = Boot()  # the restart
    boots.append(second)
    second.sync()
    second.sync()  # a later pass changes nothing either

    states = _states()
    # Everything decided or closed before the restart stays as it was.
    assert {token: states[token] for token in settled_before} == settled_before
    # The new world never hands out an id the dashboard already knows as settled.
    assert not second.waiting_tokens() & set(settled_before)
    # The queue is exactly the new world's waiting requests, each once.
    pending = {token for token, state in states.items() if state == ApprovalState.PENDING}
    assert pending == second.waiting_tokens()
    assert Approval.objects.filter(state=ApprovalState.PENDING).count() == len(pending)
    # The history is the seeded three plus the reviewer's decision: nothing else joined it.
    history = Approval.objects.exclude(state=ApprovalState.PENDING)
    assert history.count() == 4
    assert history.filter(state=ApprovalState.GONE).count() == 0
    decided.refresh_from_db()
    assert decided.run_finished_at is not None
    assert decided.state == ApprovalState.DECIDED
    assert decided.decision.delivery_state == DeliveryState.DELIVERED


def test_a_vote_from_before_the_restart_is_kept_and_its_approval_closed_as_gone(
    db: None, boots: list[Boot]
) -> None:
    first = Boot()
    boots.append(first)
    first.sync()
    deploy = Approval.objects.filter(
        state=ApprovalState.PENDING, task_identifier="deploy-production"
    )[0]
    voted = decide(
        token_id=deploy.token_id,
        actor=get_user_model().objects.get(username="demo"),
        verdict=Verdict.APPROVE,
        deliver_now=False,
    )
    assert voted.decision is None  # the policy wants a second reviewer
    first.stop()

    second = Boot()
    boots.append(second)
    second.sync()

    deploy.refresh_from_db()
    assert deploy.votes.count() == 1  # the audit log is never deleted
    assert deploy.state == ApprovalState.GONE  # its token went with the first world
