"""A list page looks at about as many rows as it shows, whether the world holds a hundred runs or
thousands (the world counts the rows list pages look at: ``World.examined``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from approvals.sandbox import SandboxApp, create_app
from approvals.sandbox.api_runs import page_of_runs, read_run_query
from approvals.sandbox.api_tokens import page_of_tokens, read_token_query
from approvals.sandbox.paging import Page, read_page
from approvals.sandbox.scenario import ApprovalRequest

SIZE = 100
RUNS = {
    "filter[status]": "WAITING",
    "filter[tag]": "needs-approval",
    "filter[createdAt][period]": "7d",
}
TOKENS = {"filter[status]": "WAITING", "filter[tags]": "needs-approval"}


@pytest.fixture
def world_app() -> Iterator[SandboxApp]:
    sandbox = create_app(scenario="empty", tick_interval=3600)
    yield sandbox
    sandbox.stop()


def _fill(sandbox: SandboxApp, count: int) -> None:
    for i in range(count):
        request = ApprovalRequest(
            task="deploy-production", payload={"i": i}, description=f"{i}", timeout=timedelta(1)
        )
        run, token = sandbox.scenario.start_approval(request)
        if i % 4 == 0:  # some decided and finished, so the filters have rows to skip
            sandbox.world.complete_token(token, output=None, output_type="x", is_error=False)
    sandbox.clock.advance(1)
    sandbox.scenario.tick()
    sandbox.clock.advance(1)
    sandbox.scenario.tick()


def _examined(sandbox: SandboxApp, kind: str, query: dict[str, str]) -> tuple[int, Any]:
    world, ctx = sandbox.world, sandbox.ctx
    page = read_page({**query, "page[size]": str(SIZE)})
    with world.lock:
        before = world.examined
        if kind == "runs":
            chosen, pagination = page_of_runs(ctx, read_run_query(ctx, query), page)
        else:
            chosen, pagination = page_of_tokens(ctx, read_token_query(ctx, query), page)
        return world.examined - before, (chosen, pagination)


def _deep(sandbox: SandboxApp, kind: str, query: dict[str, str]) -> dict[str, str]:
    """The query for the page halfway down the list, reached by following ``next``."""
    world, ctx = sandbox.world, sandbox.ctx
    halfway = (len(world.runs) * 3 // 4) // 2  # three runs in four are still waiting
    after = None
    with world.lock:
        for walked in range(0, halfway, SIZE):
            page = Page(min(SIZE, halfway - walked), after, None)
            if kind == "runs":
                _, pagination = page_of_runs(ctx, read_run_query(ctx, query), page)
            else:
                _, pagination = page_of_tokens(ctx, read_token_query(ctx, query), page)
            after = pagination["next"]
    return {**query, "page[after]": after}


@pytest.mark.parametrize(("kind", "query"), [("runs", RUNS), ("tokens", TOKENS)])
def test_a_page_examines_the_same_rows_at_a_hundred_and_at_two_thousand_runs(
    world_app: SandboxApp, kind: str, query: dict[str, str]
) -> None:
    costs = []
    for total in (100, 2000):
        _fill(world_app, total - len(world_app.world.runs))
        first, (chosen, _) = _examined(world_app, kind, query)
        deep, (deep_chosen, deep_pagination) = _examined(
            world_app, kind, _deep(world_app, kind, query)
        )
        costs.append((first, deep))
        assert chosen and deep_chosen
        assert "previous" in deep_pagination

    # The page itself, one row to know there is a next page, one to know there is a previous.
    small, large = costs
    assert large == (SIZE + 1, SIZE + 2)
    assert small[0] <= large[0] and small[1] <= large[1]


def test_filtering_on_a_status_few_runs_have_skips_the_others(world_app: SandboxApp) -> None:
    _fill(world_app, 600)
    query = {"filter[status]": "COMPLETED", "filter[tag]": "needs-approval"}

    examined, (chosen, pagination) = _examined(world_app, "runs", query)

    assert len(chosen) == SIZE and pagination["next"]
    assert examined == SIZE + 1  # completed runs only, although three in four are waiting
