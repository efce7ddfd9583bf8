"""A token's createdAt comes from the world's clock and is never later than the moment a client
can first see it; its run was created before it. Otherwise the dashboard's timeline shows
"Seen by the dashboard" before "Token created upstream"."""

from __future__ import annotations

from datetime import timedelta

import httpx

from approvals.sandbox import SandboxApp
from approvals.sandbox.models import iso
from approvals.sandbox.scenario import ApprovalRequest
from approvals.sandbox.tokens import create_token
from tests.sandbox.conftest import start_run


def _request() -> ApprovalRequest:
    return ApprovalRequest(
        task="approve-invoice", payload={}, description="Pay", timeout=timedelta(hours=1)
    )


def test_a_new_token_is_not_younger_than_the_moment_it_is_seen(app: SandboxApp) -> None:
    app.clock.freeze(True)  # nothing moves on: "seen" is the very moment it was made

    run, token = app.scenario.start_approval(_request())
    seen_at = app.clock.now()

    assert token.created_at <= seen_at
    assert run.created_at < token.created_at
    assert run.started_at is not None and run.started_at < token.created_at
    assert run.metadata["waitTokens"][0]["createdAt"] == iso(token.created_at)


def test_a_back_dated_request_moves_the_run_back_with_its_token(app: SandboxApp) -> None:
    app.clock.freeze(True)

    run, token = app.scenario.start_approval(_request(), age=timedelta(hours=2))

    assert token.created_at == app.clock.now() - timedelta(hours=2)
    assert run.created_at < token.created_at
    assert token.timeout_at == token.created_at + timedelta(hours=1)


def test_over_the_api_the_token_is_older_than_the_answer(sandbox_http: httpx.Client) -> None:
    started = start_run(sandbox_http)
    clock = sandbox_http.get("/_sandbox/clock").json()

    token = sandbox_http.get(f"/api/v1/waitpoints/tokens/{started['tokenId']}").json()
    run = sandbox_http.get(f"/api/v3/runs/{started['runId']}").json()

    assert token["createdAt"] <= clock["now"]
    assert run["createdAt"] < token["createdAt"]


def test_every_demo_token_follows_its_run_and_precedes_now(demo_app: SandboxApp) -> None:
    demo_app.clock.freeze(True)
    now = demo_app.clock.now()
    world = demo_app.world

    assert world.tokens
    for token in world.tokens.values():
        (run_tag,) = [tag for tag in token.tags if tag.startswith("run:")]
        run = world.find_run(run_tag.removeprefix("run:"))
        assert run is not None
        assert run.created_at < token.created_at <= now


def test_a_token_cannot_be_created_in_the_future(app: SandboxApp) -> None:
    app.clock.freeze(True)

    token = create_token(app.world, created_at=app.clock.now() + timedelta(seconds=5)).token

    assert token.created_at == app.clock.now()
