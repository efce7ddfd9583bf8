"""The indexed list pages, ticks and feeds give the answers a scan of every run and token gives.

A random world (runs and tokens back-dated, sharing milliseconds, changing status, tags and
keys) is asked many random queries; each page is compared with the reference: every item
filtered, sorted newest first and cut into pages the way the sandbox did before it had indexes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import pytest

from approvals.sandbox import SandboxApp, SandboxTransport, create_app, tokens
from approvals.sandbox.api_runs import _decode_cursor, _encode_cursor, page_of_runs, read_run_query
from approvals.sandbox.api_tokens import page_of_tokens, read_token_query
from approvals.sandbox.models import TOKEN_COMPLETED, TOKEN_PENDING
from approvals.sandbox.paging import Page, QueryError
from approvals.sandbox.scenario import ApprovalRequest
from approvals.sandbox.world import run_key
from tests.sandbox.conftest import ELECTRIC_HEADERS

T = TypeVar("T")
TAGS = ["needs-approval", "finance", "support", "env:production", "rare"]
TASKS = ["deploy-production", "refund-customer", "grant-access"]
RUN_STATUSES = ["WAITING", "EXECUTING", "COMPLETED", "FAILED", "QUEUED", "FROZEN"]
TOKEN_STATUSES = ["WAITING", "COMPLETED", "TIMED_OUT"]


def reference_page(
    items: Sequence[T],
    page: Page,
    key: Callable[[T], Any],
    encode: Callable[[T], str],
    decode: Callable[[str], Any],
) -> tuple[list[T], dict[str, Any]]:
    """The sandbox's paging before indexes: ``items`` sorted newest first by ``key``."""
    if page.after is not None:
        after = decode(page.after)
        start = next((i for i, item in enumerate(items) if key(item) < after), len(items))
        chosen = list(items[start : start + page.size])
    elif page.before is not None:
        before = decode(page.before)
        end = sum(1 for item in items if key(item) > before)
        start = max(0, end - page.size)
        chosen = list(items[start:end])
    else:
        start = 0
        chosen = list(items[: page.size])
    pagination: dict[str, Any] = {}
    if chosen and start + len(chosen) < len(items):
        pagination["next"] = encode(chosen[-1])
    if chosen and start > 0:
        pagination["previous"] = encode(chosen[0])
    return chosen, pagination


@pytest.fixture
def world_app() -> Iterator[SandboxApp]:
    # The ticker stays idle (an hour between ticks): the test ticks when it means to.
    sandbox = create_app(scenario="empty", seed=3, tick_interval=3600)
    sandbox.clock.freeze(True)
    yield sandbox
    sandbox.stop()


def _populate(sandbox: SandboxApp, rng: random.Random, count: int) -> None:
    """Runs started over two weeks (several in one millisecond), some decided, some timed out,
    some with tags changed or created anew, and tokens whose idempotency key expired."""
    world = sandbox.world
    for i in range(count):
        request = ApprovalRequest(
            task=rng.choice(TASKS),
            payload={"i": i},
            description=f"request {i}",
            timeout=timedelta(minutes=rng.choice([1, 30, 600, 6000])),
            tags=rng.sample(TAGS[1:], rng.randint(0, 2)),
        )
        # Repeated ages put several runs in one millisecond.
        age = timedelta(seconds=rng.choice([0, 0, 5, 3600, 86400 * 3, 86400 * 10]))
        run, token = sandbox.scenario.start_approval(request, age=age)
        roll = rng.random()
        if roll < 0.3:
            sandbox.scenario.tick()
            world.complete_token(token, output='{"json":{}}', output_type="x", is_error=False)
        elif roll < 0.35:
            world.update_run(run.id, tags=[*run.tags, "rare", "rare"])
        elif roll < 0.4:
            world.update_run(run.id, created_at=run.created_at - timedelta(days=1))
        if rng.random() < 0.2:
            sandbox.clock.advance(rng.choice([0.3, 1, 120]))
            sandbox.scenario.tick()


def _run_queries(rng: random.Random) -> Iterator[dict[str, str]]:
    for _ in range(60):
        query: dict[str, str] = {"page[size]": str(rng.choice([1, 2, 3, 7, 25, 100]))}
        if rng.random() < 0.7:
            query["filter[status]"] = ",".join(rng.sample(RUN_STATUSES, rng.randint(1, 2)))
        if rng.random() < 0.7:
            query["filter[tag]"] = ",".join(rng.sample(TAGS, rng.randint(1, 2)))
        if rng.random() < 0.3:
            query["filter[taskIdentifier]"] = rng.choice(TASKS)
        window = rng.random()
        if window < 0.3:
            query["filter[createdAt][period]"] = rng.choice(["1h", "2d", "30d"])
        elif window < 0.5:
            query["filter[createdAt][from]"] = str(rng.randint(1, 10**13))
            query["filter[createdAt][to]"] = str(rng.randint(1, 10**13))
        yield query


def _token_queries(rng: random.Random, keys: list[str]) -> Iterator[dict[str, str]]:
    for _ in range(60):
        query: dict[str, str] = {"page[size]": str(rng.choice([1, 2, 3, 7, 25, 100]))}
        if rng.random() < 0.7:
            query["filter[status]"] = ",".join(rng.sample(TOKEN_STATUSES, rng.randint(1, 2)))
        if rng.random() < 0.7:
            query["filter[tags]"] = ",".join(rng.sample(TAGS, rng.randint(1, 2)))
        if rng.random() < 0.15:
            query["filter[idempotencyKey]"] = rng.choice(keys)
        if rng.random() < 0.2:
            query["filter[createdAt][period]"] = rng.choice(["1h", "2d"])
        yield query


def _cursors(rng: random.Random, encoded: list[str]) -> list[tuple[str | None, str | None]]:
    """No cursor, then after and before cursors at random items (matching or not)."""
    picks = rng.sample(encoded, min(len(encoded), 6))
    return [(None, None)] + [(c, None) for c in picks[:3]] + [(None, c) for c in picks[3:]]


def _check_runs(sandbox: SandboxApp, rng: random.Random) -> None:
    ctx, world = sandbox.ctx, sandbox.world
    with world.lock:
        every = list(world.runs.values())
        encoded = [_encode_cursor(run_key(run)) for run in every]
        for query in _run_queries(rng):
            wanted = read_run_query(ctx, query)
            matching = sorted(filter(wanted.keep, every), key=run_key, reverse=True)
            for after, before in _cursors(rng, encoded):
                page = Page(int(query["page[size]"]), after, before)
                expected = reference_page(
                    matching,
                    page,
                    run_key,
                    lambda run: _encode_cursor(run_key(run)),
                    _decode_cursor,
                )
                assert page_of_runs(ctx, wanted, page) == expected, (query, page)


def _check_tokens(sandbox: SandboxApp, rng: random.Random) -> None:
    ctx, world = sandbox.ctx, sandbox.world
    with world.lock:
        every = list(world.tokens.values())
        keys = [t.idempotency_key for t in every] + [
            t.inactive_idempotency_key for t in every if t.inactive_idempotency_key
        ]
        encoded = [rng.choice(["", "waitpoint_"]) + token.id for token in every]
        for query in _token_queries(rng, keys):
            wanted = read_token_query(ctx, query)
            matching = sorted(filter(wanted.keep, every), key=lambda t: t.id, reverse=True)
            for after, before in _cursors(rng, encoded):
                page = Page(int(query["page[size]"]), after, before)
                expected = reference_page(
                    matching,
                    page,
                    key=lambda token: token.id,
                    encode=lambda token: token.id,
                    decode=lambda cursor: cursor.removeprefix("waitpoint_"),
                )
                assert page_of_tokens(ctx, wanted, page) == expected, (query, page)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_run_and_token_pages_match_the_reference(world_app: SandboxApp, seed: int) -> None:
    rng = random.Random(seed)
    _populate(world_app, rng, 150)

    _check_runs(world_app, rng)
    _check_tokens(world_app, rng)


def test_pages_still_match_after_runs_finish_and_tokens_time_out(world_app: SandboxApp) -> None:
    rng = random.Random(9)
    _populate(world_app, rng, 120)
    world_app.clock.advance(7 * 3600)  # past some tokens' timeouts
    world_app.scenario.tick()
    world_app.clock.advance(1)  # and the resumed runs finish
    world_app.scenario.tick()

    _check_runs(world_app, rng)
    _check_tokens(world_app, rng)


def test_a_reused_idempotency_key_finds_the_live_token(world_app: SandboxApp) -> None:
    world = world_app.world
    first = tokens.create_token(world, idempotency_key="k", idempotency_key_ttl=timedelta(1))
    again = tokens.create_token(world, idempotency_key="k")
    world_app.clock.advance(2 * 86400)
    fresh = tokens.create_token(world, idempotency_key="k")

    assert again.is_cached and again.token is first.token
    assert not fresh.is_cached and fresh.token is not first.token
    assert world.find_token_by_key("k") is fresh.token
    assert first.token.inactive_idempotency_key == "k"
    found = page_of_tokens(
        world_app.ctx,
        read_token_query(world_app.ctx, {"filter[idempotencyKey]": "k"}),
        Page(25, None, None),
    )[0]
    assert found == [fresh.token, first.token]


def _due_by_scan(sandbox: SandboxApp) -> tuple[list[str], list[str]]:
    """What the tick did before indexes, found by scanning: the tokens to time out and the
    runs to resume or finish, each in the order they were added."""
    world, now = sandbox.world, sandbox.clock.now()
    expiring = [
        token.id
        for token in world.tokens.values()
        if token.status == TOKEN_PENDING and token.timeout_at and token.timeout_at <= now
    ]
    moving = []
    for run in world.runs.values():
        if run.waiting_on_token is not None:
            token = world.tokens.get(run.waiting_on_token)
            if token is not None and (token.status == TOKEN_COMPLETED or token.id in expiring):
                moving.append(run.id)
        elif run.finish_at is not None and run.finish_at <= now:
            moving.append(run.id)
    return expiring, moving


def test_a_tick_moves_exactly_the_runs_a_scan_finds(world_app: SandboxApp) -> None:
    rng = random.Random(5)
    _populate(world_app, rng, 150)
    world = world_app.world
    for step in (0.2, 0.4, 1800, 1, 86400, 1, 86400 * 7, 1):
        world_app.clock.advance(step)
        expiring, moving = _due_by_scan(world_app)
        seq = world.seq

        world_app.scenario.tick()

        assert all(world.tokens[token_id].status == TOKEN_COMPLETED for token_id in expiring)
        assert [change.run_id for change in world.changes_after(seq)] == moving


def _feed_ids(http: httpx.Client, tags: str) -> list[str]:
    response = http.get("/realtime/v1/runs", params={"tags": tags, "offset": "-1"})
    assert response.status_code == 200, response.text
    return [m["value"]["id"] for m in response.json() if "key" in m]


def _feed_by_scan(sandbox: SandboxApp, tags: str) -> list[str]:
    wanted = {tag for tag in tags.split(",") if tag}
    since = sandbox.clock.now() - timedelta(hours=24)
    found = [
        run
        for run in sandbox.world.runs.values()
        if wanted <= set(run.tags) and run.created_at > since
    ]
    return [run.id for run in sorted(found, key=lambda run: run.created_at)]


@pytest.mark.parametrize("tags", ["", "needs-approval", "finance,support", "rare", "unknown"])
def test_a_tagged_feed_snapshot_matches_a_scan(world_app: SandboxApp, tags: str) -> None:
    _populate(world_app, random.Random(4), 120)
    with httpx.Client(
        transport=SandboxTransport(world_app), base_url="http://sandbox.local"
    ) as http:
        http.headers.update(ELECTRIC_HEADERS)
        assert _feed_ids(http, tags) == _feed_by_scan(world_app, tags)


def test_a_bad_cursor_is_still_a_query_error(world_app: SandboxApp) -> None:
    _populate(world_app, random.Random(1), 5)
    wanted = read_run_query(world_app.ctx, {})

    with world_app.world.lock, pytest.raises(QueryError):
        page_of_runs(world_app.ctx, wanted, Page(2, "not-a-cursor", None))
