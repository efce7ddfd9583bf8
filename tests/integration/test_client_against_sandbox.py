"""The trigger against the sandbox over real loopback HTTP, call by call."""

from __future__ import annotations

import pytest

from approvals.trigger import (
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TransportError,
    TriggerClient,
)
from tests.waiting import wait_until

from .conftest import RecordingSleep, RunningSandbox


def test_runs_list_follows_cursor_pagination_across_pages(
    sandbox: RunningSandbox, trigger: TriggerClient
) -> None:
    started = [sandbox.start_run(description=f"approval {i}")["runId"] for i in range(7)]
    listed = [run.id for run in trigger.runs.list(tags=["needs-approval"], page_size=3)]
    assert sorted(listed) == sorted(started)
    assert len(set(listed)) == 7
    assert sandbox.stats()["requests"]["GET /api/v1/runs"] == 3


def test_runs_list_page_returns_an_opaque_cursor_that_continues(
    sandbox: RunningSandbox, trigger: TriggerClient
) -> None:
    for i in range(4):
        sandbox.start_run(description=f"approval {i}")
    first = trigger.runs.list_page(tags=["needs-approval"], page_size=2)
    assert len(first.data) == 2 and first.next
    second = trigger.runs.list_page(tags=["needs-approval"], page_size=2, after=first.next)
    assert {r.id for r in first.data}.isdisjoint({r.id for r in second.data})


def test_runs_list_filters_by_status_and_task(
    sandbox: RunningSandbox, trigger: TriggerClient
) -> None:
    sandbox.start_run(task="approve-invoice")
    deploy = sandbox.start_run(task="deploy-production")
    waiting = list(trigger.runs.list(status=["WAITING"], task_identifier=["deploy-production"]))
    assert [run.id for run in waiting] == [deploy["runId"]]
    assert waiting[0].status == "WAITING"
    assert list(trigger.runs.list(status=["COMPLETED"])) == []


def test_run_retrieve_has_payload_metadata_and_tags(
    sandbox: RunningSandbox, trigger: TriggerClient
) -> None:
    ids = sandbox.start_run(payload={"amount": 42}, tags=["team:billing"])
    run = trigger.runs.retrieve(ids["runId"])
    assert run.payload == {"amount": 42}
    assert "needs-approval" in run.tags and "team:billing" in run.tags
    announced = run.metadata["waitTokens"]
    assert [entry["id"] for entry in announced] == [ids["tokenId"]]


def test_retrieving_an_unknown_run_is_not_found(trigger: TriggerClient) -> None:
    with pytest.raises(NotFoundError):
        trigger.runs.retrieve("run_doesnotexist")


def test_a_wrong_key_is_an_authentication_error_that_does_not_leak_the_key(
    sandbox: RunningSandbox,
) -> None:
    wrong = "tr_dev_" + "Z" * 24
    with TriggerClient(
        secret_key=wrong, base_url=sandbox.url, retry=RetryPolicy(max_attempts=1)
    ) as c:
        with pytest.raises(AuthenticationError) as excinfo:
            c.runs.list_page()
        assert wrong not in repr(c)
    assert wrong not in str(excinfo.value) and wrong not in repr(excinfo.value)


def test_tokens_create_list_retrieve_and_complete(
    sandbox: RunningSandbox, trigger: TriggerClient
) -> None:
    created = trigger.waitpoints.create(
        idempotency_key="k-1", timeout="1h", tags=["needs-approval", "x"]
    )
    again = trigger.waitpoints.create(
        idempotency_key="k-1", timeout="1h", tags=["needs-approval", "x"]
    )
    assert created.id == again.id and again.is_cached and not created.is_cached
    assert created.public_access_token

    listed = list(trigger.waitpoints.list(status=["WAITING"], tags=["x"]))
    assert [t.id for t in listed] == [created.id]

    trigger.waitpoints.complete(created.id, {"approved": True, "approvedBy": "a@example.com"})
    token = trigger.waitpoints.retrieve(created.id)
    assert token.status == "COMPLETED"
    assert token.output == {"approved": True, "approvedBy": "a@example.com"}

    # The server answers 200 to a second completion and keeps the first output.
    trigger.waitpoints.complete(created.id, {"approved": False})
    assert trigger.waitpoints.retrieve(created.id).output == {
        "approved": True,
        "approvedBy": "a@example.com",
    }


def test_token_list_paginates(trigger: TriggerClient) -> None:
    made = {trigger.waitpoints.create(tags=["batch"]).id for _ in range(5)}
    seen = [t.id for t in trigger.waitpoints.list(tags=["batch"], page_size=2)]
    assert sorted(seen) == sorted(made)


def test_a_token_completed_through_its_callback_url(trigger: TriggerClient) -> None:
    created = trigger.waitpoints.create(tags=["cb"])
    trigger.waitpoints.complete_via_callback(created.url, {"approved": True, "via": "callback"})
    assert trigger.waitpoints.retrieve(created.id).output == {"approved": True, "via": "callback"}


def test_a_timed_out_token_decodes_the_timeout_error(
    sandbox: RunningSandbox, trigger: TriggerClient
) -> None:
    created = trigger.waitpoints.create(timeout="10m", tags=["t"])
    sandbox.control("POST", "clock", {"advanceSeconds": 601})
    token = wait_until(
        lambda: (t := trigger.waitpoints.retrieve(created.id)).status == "TIMED_OUT" and t
    )
    assert token.output_is_error
    assert token.timeout_error and "timed out" in token.timeout_error.lower()


def test_retrieving_a_missing_token_is_not_found_despite_the_servers_500(
    trigger: TriggerClient,
) -> None:
    with pytest.raises(NotFoundError):
        trigger.waitpoints.retrieve("waitpoint_missing")


def test_a_5xx_is_retried_until_the_server_recovers(
    sandbox: RunningSandbox, trigger: TriggerClient, sleeps: RecordingSleep
) -> None:
    sandbox.start_run()
    sandbox.faults(errorRate=1.0)
    sleeps.on_sleep = lambda n: n == 2 and sandbox.faults(errorRate=0.0)
    runs = list(trigger.runs.list(tags=["needs-approval"]))
    assert len(runs) == 1
    assert len(sleeps.delays) == 2
    assert sandbox.stats()["requests"]["GET /api/v1/runs"] == 3


def test_retries_give_up_after_five_attempts(
    sandbox: RunningSandbox, trigger: TriggerClient
) -> None:
    sandbox.faults(errorRate=1.0)
    with pytest.raises(ServerError) as excinfo:
        trigger.runs.list_page()
    assert excinfo.value.status == 500 and excinfo.value.retryable
    assert sandbox.stats()["requests"]["GET /api/v1/runs"] == 5


def test_a_429_waits_until_the_rate_limit_resets(sandbox: RunningSandbox) -> None:
    sleeps = RecordingSleep()
    sleeps.on_sleep = lambda n: sandbox.faults(rateLimit=0)
    policy = RetryPolicy(min_delay=0.001, max_delay=120.0, sleep=sleeps)
    sandbox.faults(rateLimit=1)
    with TriggerClient(secret_key=sandbox.secret_key, base_url=sandbox.url, retry=policy) as c:
        c.runs.list_page()
        c.runs.list_page()  # over the limit: 429, wait for x-ratelimit-reset, then succeed
    assert len(sleeps.delays) == 1
    # The limit is per minute: the reset is seconds away, far more than the 1 ms backoff.
    assert 1.0 < sleeps.delays[0] <= 61.0


def test_a_429_that_persists_surfaces_as_a_rate_limit_error(
    sandbox: RunningSandbox, trigger: TriggerClient
) -> None:
    sandbox.faults(rateLimit=1)
    trigger.runs.list_page()
    with pytest.raises(RateLimitError) as excinfo:
        trigger.runs.list_page()
    assert excinfo.value.reset_at is not None


def test_a_slow_upstream_times_out_as_a_transport_error(sandbox: RunningSandbox) -> None:
    sandbox.faults(latencyMs=1500)
    policy = RetryPolicy(max_attempts=2, min_delay=0.001, max_delay=0.001)
    with (
        TriggerClient(
            secret_key=sandbox.secret_key, base_url=sandbox.url, timeout=0.2, retry=policy
        ) as c,
        pytest.raises(TransportError),
    ):
        c.runs.list_page()


def test_dropped_connections_are_retried(
    sandbox: RunningSandbox, trigger: TriggerClient, sleeps: RecordingSleep
) -> None:
    sandbox.start_run()
    sandbox.faults(dropRate=1.0)
    sleeps.on_sleep = lambda n: sandbox.faults(dropRate=0.0)
    assert len(list(trigger.runs.list(tags=["needs-approval"]))) == 1
    assert len(sleeps.delays) == 1
