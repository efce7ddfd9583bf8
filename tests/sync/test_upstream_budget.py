"""The sync worker's upstream cost stays flat as the queue grows, and stays inside the rate
limit (docs/design.md, "Upstream budget"); freshness holds with the realtime feed cut."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.utils import timezone

from approvals.models import Approval, ApprovalState
from approvals.sync.follower import RealtimeFollower
from approvals.sync.recent import read_unread_payloads, sync_recent
from approvals.sync.reconcile import apply_run_change, sync_once
from approvals.sync.worker import run_worker
from approvals.trigger import Pacer, RateBudget, RetryPolicy, Run, TriggerClient
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

QUEUE = 230  # three pages of each list at the reconcile's page size of 100


def _calls(live_sandbox: Any) -> int:
    """Every API call the sandbox answered so far (its own counters)."""
    requests = live_sandbox.stats()["requests"]
    return sum(int(n) for path, n in requests.items() if "/api/" in path or "/realtime/" in path)


def _approval(token_id: str) -> Approval | None:
    return Approval.objects.filter(token_id=token_id).first()


@pytest.fixture
def long_queue(live_sandbox: Any) -> list[dict[str, str]]:
    runs = [live_sandbox.start_run(payload={"n": n}) for n in range(QUEUE)]
    report = sync_once()
    assert report.ok and report.created == QUEUE, report.summary()
    return runs


def test_the_pass_between_full_reconciles_costs_one_call_whatever_the_queue(
    live_sandbox: Any, long_queue: list[dict[str, str]]
) -> None:
    before = _calls(live_sandbox)
    full = sync_once()
    full_calls = _calls(live_sandbox) - before
    assert full_calls >= 6  # three pages of runs, three of tokens

    # The queue was made seconds ago, inside the pass's window; a steady queue is older than
    # that. The same pass, a few minutes on:
    later = timezone.now() + timedelta(minutes=5)
    before = _calls(live_sandbox)
    report = sync_recent(now=later)
    assert report.ok, report.summary()
    assert _calls(live_sandbox) - before == 1 == report.upstream_calls
    assert report.created == 0 and full.created == 0


def test_with_the_feed_cut_a_new_approval_comes_in_with_the_next_pass(
    live_sandbox: Any,
) -> None:
    ids = live_sandbox.start_run(description="announced while the feed is down")
    report = sync_recent()
    assert report.created == 1, report.summary()
    approval = _approval(ids["tokenId"])
    assert approval is not None and approval.description == "announced while the feed is down"
    # One list page, the run, its token: not a listing of the whole queue.
    assert report.upstream_calls <= 3


def test_with_the_feed_cut_a_token_completed_elsewhere_leaves_at_the_next_full_reconcile(
    live_sandbox: Any, long_queue: list[dict[str, str]], trigger: TriggerClient
) -> None:
    ids = long_queue[0]
    trigger.waitpoints.complete(ids["tokenId"], {"approved": True})

    sync_recent()  # only what is new: the completion is the feed's, or the full pass's
    assert _approval(ids["tokenId"]).state == ApprovalState.PENDING  # type: ignore[union-attr]
    sync_once()
    assert _approval(ids["tokenId"]).state != ApprovalState.PENDING  # type: ignore[union-attr]


@pytest.fixture
def worker(settings: Any, live_sandbox: Any) -> Iterator[threading.Event]:
    """The worker's loop with the realtime feed, passes every 0.2 s, a full reconcile at start
    and then not for an hour."""
    settings.SYNC_FULL_INTERVAL_SECONDS = 3600
    # Without the notification sender: the long queue's first announcement (230 fan-outs at
    # start, in this same process) is not what these tests measure (tests/notify does).
    settings.NOTIFY_IN_WORKER = False
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker, kwargs={"interval": 0.2, "stop": stop, "realtime": True}, daemon=True
    )
    thread.start()
    yield stop
    stop.set()
    thread.join(timeout=15)
    assert not thread.is_alive()


def test_the_worker_brings_in_new_approvals_and_stays_flat_while_idle(
    live_sandbox: Any, long_queue: list[dict[str, str]], worker: threading.Event
) -> None:
    # A new approval comes in through the feed (or the next pass) within 2 seconds.
    ids = live_sandbox.start_run(description="new while the worker runs")
    wait_until(lambda: _approval(ids["tokenId"]), timeout=2.0)

    # Idle: each pass lists one page of new tokens, whatever the length of the queue.
    def token_lists() -> int:
        return int(live_sandbox.stats()["requests"].get("GET /api/v1/waitpoints/tokens", 0))

    start = token_lists()
    wait_until(lambda: token_lists() >= start + 10, timeout=10)
    listed = token_lists() - start
    runs_listed = int(live_sandbox.stats()["requests"].get("GET /api/v1/runs", 0))
    before_runs = runs_listed
    wait_until(lambda: token_lists() >= start + listed + 5, timeout=10)
    # No run listing between full reconciles: the queue's length costs nothing.
    assert int(live_sandbox.stats()["requests"].get("GET /api/v1/runs", 0)) == before_runs


# --- The rate limit ------------------------------------------------------------------------------


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _answer(remaining: int, reset_at: float, limit: int = 100) -> httpx.Response:
    return httpx.Response(
        200,
        headers={
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(int(reset_at * 1000)),
        },
    )


def test_the_budget_waits_for_the_reset_once_only_the_reserve_is_left() -> None:
    clock = _Clock(1_000.0)
    budget = RateBudget(reserve_fraction=0.2, clock=clock, sleep=clock.sleep)
    budget.observe(_answer(remaining=21, reset_at=1_030.0))
    budget.before_call()
    assert clock.slept == []  # 21 left of 100, 20 kept for the tasks: go
    budget.observe(_answer(remaining=20, reset_at=1_030.0))
    budget.before_call()
    assert clock.slept == [30.0]  # until the bucket refills, never into a 429
    assert budget.tight == 1
    budget.before_call()
    assert clock.slept == [30.0]  # refilled: the next answer says how much is left


def test_a_429_answer_makes_the_next_attempt_wait_for_the_reset() -> None:
    clock = _Clock(500.0)
    budget = RateBudget(reserve_fraction=0.0, clock=clock, sleep=clock.sleep)
    limited = _answer(remaining=0, reset_at=512.5)
    limited.status_code = 429
    budget.observe(limited)
    budget.before_call()
    assert clock.slept == [12.5]


def test_answers_without_the_headers_change_nothing() -> None:
    budget = RateBudget(reserve_fraction=0.2)
    budget.observe(httpx.Response(200))
    assert budget.wait_before_call() == 0.0


def test_the_pacer_spreads_calls_out() -> None:
    clock = _Clock(0.0)
    pacer = Pacer(per_minute=30, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        pacer.take()
    # One at once, then one every two seconds.
    assert clock.slept == pytest.approx([2.0, 2.0, 2.0, 2.0])


def test_the_client_reads_the_real_servers_budget_and_would_wait_before_a_429(
    live_sandbox: Any,
) -> None:
    live_sandbox.faults(rateLimit=10)
    waits: list[float] = []
    budget = RateBudget(reserve_fraction=0.2, sleep=waits.append)
    with TriggerClient(
        live_sandbox.secret_key,
        live_sandbox.url,
        retry=RetryPolicy(max_attempts=1),
        budget=budget,
    ) as client:
        for _ in range(8):  # 10 a minute, 2 kept back: 8 calls go straight through
            client.waitpoints.list_page(status=["WAITING"])
        assert waits == []
        assert budget.limit == 10 and budget.remaining == 2
        assert budget.wait_before_call() > 0  # the ninth would wait for the window's reset
    assert "429" not in str(live_sandbox.stats())


def test_a_tight_budget_puts_new_approvals_in_the_queue_and_their_payloads_later(
    live_sandbox: Any,
) -> None:
    runs = [live_sandbox.start_run(payload={"n": n}) for n in range(5)]
    live_sandbox.faults(rateLimit=4)  # two list calls leave two: the reserve below
    waits: list[float] = []
    budget = RateBudget(reserve_fraction=0.5, sleep=waits.append)
    with TriggerClient(
        live_sandbox.secret_key, live_sandbox.url, retry=RetryPolicy(max_attempts=1), budget=budget
    ) as client:
        report = sync_once(client=client)
    assert report.ok, report.summary()
    assert (report.created, report.deferred) == (5, 5)
    assert "left for later" in report.summary()
    for ids in runs:
        approval = _approval(ids["tokenId"])
        assert approval is not None and approval.state == ApprovalState.PENDING
        assert approval.payload is None and approval.run_updated_at is None

    live_sandbox.faults(rateLimit=None)
    later = sync_once()
    assert later.deferred == 0 and later.updated == 5, later.summary()
    assert [_approval(ids["tokenId"]).payload for ids in runs] == [  # type: ignore[union-attr]
        {"n": n} for n in range(5)
    ]


@contextmanager
def _tight_client(live_sandbox: Any, *, rate_limit: int) -> Iterator[TriggerClient]:
    """A client whose budget reaches its reserve after ``rate_limit // 2`` calls, so a pass
    leaves payloads for later (the sandbox enforcing ``rate_limit`` a minute meanwhile)."""
    live_sandbox.faults(rateLimit=rate_limit)
    budget = RateBudget(reserve_fraction=0.5, sleep=lambda seconds: None)
    with TriggerClient(
        live_sandbox.secret_key, live_sandbox.url, retry=RetryPolicy(max_attempts=1), budget=budget
    ) as client:
        yield client


def test_the_realtime_feed_fills_payloads_left_for_later_without_a_call_per_run(
    live_sandbox: Any,
) -> None:
    runs = [live_sandbox.start_run(payload={"n": n}) for n in range(5)]
    with _tight_client(live_sandbox, rate_limit=4) as client:
        assert sync_once(client=client).deferred == 5
    live_sandbox.faults(rateLimit=None)

    def retrieved() -> int:
        requests = live_sandbox.stats()["requests"]
        return sum(int(n) for path, n in requests.items() if path.startswith("GET /api/v3/runs/"))

    before = retrieved()
    follower = RealtimeFollower()
    follower.start()
    try:
        # The feed's first snapshot holds every tagged run with its payload.
        wait_until(
            lambda: all(
                (a := _approval(ids["tokenId"])) is not None and a.payload == {"n": n}
                for n, ids in enumerate(runs)
            ),
            timeout=10,
        )
    finally:
        follower.stop()
    assert retrieved() == before
    # Read now: the next full reconcile has nothing left to fetch.
    assert all(_approval(ids["tokenId"]).run_updated_at is not None for ids in runs)  # type: ignore[union-attr]
    assert sync_once().deferred == 0
    assert retrieved() == before


def test_a_feed_row_without_an_announcement_leaves_the_payload_to_read(
    live_sandbox: Any,
) -> None:
    """The listing's approval stays marked unread when the run's change cannot fill it, so
    the full reconcile still reads it (the feed used to mark it read, payload missing)."""
    ids = live_sandbox.start_run(payload={"n": 1})
    with _tight_client(live_sandbox, rate_limit=2) as client:
        assert sync_once(client=client).deferred == 1
    live_sandbox.faults(rateLimit=None)
    approval = _approval(ids["tokenId"])
    assert approval is not None
    listed = Run(
        id=approval.run_id, status="WAITING", task_identifier=approval.task_identifier,
        created_at=timezone.now(), updated_at=timezone.now(), raw={"id": approval.run_id},
    )  # fmt: skip
    with TriggerClient(live_sandbox.secret_key, live_sandbox.url) as client:
        apply_run_change(run=listed, client=client)
    approval.refresh_from_db()
    assert approval.run_updated_at is None and approval.payload is None
    sync_once()
    approval.refresh_from_db()
    assert approval.payload == {"n": 1}


def test_payloads_left_for_later_are_read_without_listing_the_queue_again(
    live_sandbox: Any,
) -> None:
    runs = [live_sandbox.start_run(payload={"n": n}) for n in range(5)]
    with _tight_client(live_sandbox, rate_limit=4) as client:
        assert sync_once(client=client).deferred == 5
        # Still tight: nothing is read, and nothing is lost.
        assert read_unread_payloads(client=client).deferred == 5
    live_sandbox.faults(rateLimit=None)
    before = live_sandbox.stats()["requests"]
    report = read_unread_payloads()
    after = live_sandbox.stats()["requests"]
    assert report.ok and report.deferred == 0, report.summary()
    assert [_approval(ids["tokenId"]).payload for ids in runs] == [  # type: ignore[union-attr]
        {"n": n} for n in range(5)
    ]
    listed = [path for path in after if "GET /api/v1/" in path]
    assert all(after[path] == before.get(path) for path in listed)  # no list call
    assert report.upstream_calls == 5
    assert read_unread_payloads().upstream_calls == 0  # nothing left to read


def test_a_worker_started_right_after_a_full_pass_does_not_list_the_queue_again(
    live_sandbox: Any, settings: Any
) -> None:
    """``sync_approvals --once`` and then the worker (the usual start), or a restart: the
    queue was made whole moments ago, so the worker follows the feed and the new tokens, and
    lists the whole queue when the full reconcile's interval says."""
    settings.SYNC_FULL_INTERVAL_SECONDS = 3600
    settings.NOTIFY_IN_WORKER = False
    for n in range(3):
        live_sandbox.start_run(payload={"n": n})
    assert sync_once().ok

    def count(path: str) -> int:
        return int(live_sandbox.stats()["requests"].get(path, 0))

    runs_listed = count("GET /api/v1/runs")
    tokens_listed = count("GET /api/v1/waitpoints/tokens")
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker, kwargs={"interval": 0.2, "stop": stop, "realtime": True}, daemon=True
    )
    thread.start()
    try:
        # Several passes for new tokens, and a run created meanwhile comes in.
        ids = live_sandbox.start_run(description="while the worker runs")
        wait_until(lambda: _approval(ids["tokenId"]), timeout=5)
        wait_until(lambda: count("GET /api/v1/waitpoints/tokens") >= tokens_listed + 5, timeout=10)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert count("GET /api/v1/runs") == runs_listed


def test_after_a_burst_of_new_tokens_each_pass_lists_one_page_again(live_sandbox: Any) -> None:
    """Newest first: once a whole page is known, the pass stops listing."""
    for n in range(QUEUE):
        live_sandbox.start_run(payload={"n": n})

    def token_lists() -> int:
        return int(live_sandbox.stats()["requests"].get("GET /api/v1/waitpoints/tokens", 0))

    before = token_lists()
    first = sync_recent()
    assert first.ok and first.created == QUEUE, first.summary()
    assert token_lists() - before == 3  # 230 tokens: three pages
    before = token_lists()
    again = sync_recent()
    assert again.ok and again.created == 0
    assert token_lists() - before == 1
    # One more in the burst's window is still found, on the first page.
    ids = live_sandbox.start_run(description="one more")
    assert sync_recent().created == 1 and _approval(ids["tokenId"]) is not None
