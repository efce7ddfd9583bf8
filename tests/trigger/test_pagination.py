"""Auto-pagination follows ``pagination.next`` with ``page[after]`` until it is absent."""

from __future__ import annotations

import pytest

from approvals.trigger import MalformedResponseError, TriggerClient

from .samples import page, run_json, token_json
from .scripted_server import ScriptedServer, json_reply


def test_runs_list_follows_every_page(server: ScriptedServer, trigger: TriggerClient) -> None:
    server.add(
        json_reply(page([run_json("run_1"), run_json("run_2")], "c1")),
        json_reply(page([run_json("run_3")], "c2")),
        json_reply(page([run_json("run_4")])),
    )
    ids = [run.id for run in trigger.runs.list(tags=["needs-approval"], page_size=2)]
    assert ids == ["run_1", "run_2", "run_3", "run_4"]
    assert [r.param("page[after]") for r in server.requests] == [None, "c1", "c2"]
    assert {r.param("filter[tag]") for r in server.requests} == {"needs-approval"}
    assert {r.param("page[size]") for r in server.requests} == {"2"}


def test_list_page_exposes_the_cursors(server: ScriptedServer, trigger: TriggerClient) -> None:
    server.add(json_reply({"data": [run_json()], "pagination": {"next": "n", "previous": "p"}}))
    first = trigger.runs.list_page()
    assert (first.next, first.previous, first.has_more, len(first)) == ("n", "p", True, 1)


def test_tokens_list_follows_opaque_internal_cursors(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(
        json_reply(page([token_json("waitpoint_b")], "cm9b")),
        json_reply(page([token_json("waitpoint_a")])),
    )
    assert [t.id for t in trigger.waitpoints.list()] == ["waitpoint_b", "waitpoint_a"]
    assert server.requests[1].param("page[after]") == "cm9b"


def test_a_looping_cursor_is_detected(server: ScriptedServer, trigger: TriggerClient) -> None:
    server.add(
        json_reply(page([run_json("run_1")], "same")),
        json_reply(page([run_json("run_2")], "same")),
    )
    with pytest.raises(MalformedResponseError) as excinfo:
        list(trigger.runs.list())
    assert excinfo.value.field == "pagination.next"


async def test_async_list_is_an_async_iterator(server: ScriptedServer, aclient: object) -> None:
    from approvals.trigger import AsyncTriggerClient

    assert isinstance(aclient, AsyncTriggerClient)
    server.add(json_reply(page([run_json("run_1")], "c1")), json_reply(page([run_json("run_2")])))
    assert [run.id async for run in aclient.runs.list(status="WAITING")] == ["run_1", "run_2"]
