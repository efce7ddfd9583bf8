"""Answers are parsed defensively into typed records; bad ones name the field at fault."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from approvals.trigger import MalformedResponseError, TriggerClient, WaitpointToken

from .samples import page, run_json, token_json
from .scripted_server import Reply, ScriptedServer, json_reply


def test_a_run_is_parsed_with_aware_datetimes_and_extras_kept(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(json_reply(run_json(payload={"invoiceId": 42}, brandNewField=1)))
    run = trigger.runs.retrieve("run_abc")
    assert run.status == "WAITING" and run.task_identifier == "approve-invoice"
    assert run.created_at == datetime(2025, 8, 1, 10, 0, tzinfo=UTC)
    assert run.started_at is not None and run.started_at.tzinfo is not None
    assert run.finished_at is None and run.idempotency_key is None
    assert run.tags == ("invoice:42", "needs-approval")
    assert run.metadata == {"approvalTokenId": "waitpoint_x"}
    assert run.payload == {"invoiceId": 42}
    assert run.raw["brandNewField"] == 1
    assert not run.is_finished


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (run_json(id=None), "run.id"),
        ({k: v for k, v in run_json().items() if k != "createdAt"}, "run.createdAt"),
        (run_json(createdAt="yesterday"), "run.createdAt"),
        (run_json(tags=[1, 2]), "run.tags"),
        (run_json(isTest="no"), "run.isTest"),
        (run_json(metadata=[1]), "run.metadata"),
        (["not", "an", "object"], "run"),
    ],
)
def test_a_malformed_run_names_the_field(
    server: ScriptedServer, trigger: TriggerClient, body: object, field: str
) -> None:
    server.add(json_reply(body))
    with pytest.raises(MalformedResponseError) as excinfo:
        trigger.runs.retrieve("run_abc")
    assert excinfo.value.field == field
    assert field in str(excinfo.value)
    assert "/api/v3/runs/run_abc" in str(excinfo.value)


def test_a_malformed_list_item_is_skipped_and_named_by_its_index(
    server: ScriptedServer, trigger: TriggerClient, caplog: pytest.LogCaptureFixture
) -> None:
    server.add(json_reply(page([token_json(), token_json(url=None)])))
    listed = trigger.waitpoints.list_page()
    assert len(listed.data) == 1
    assert [problem.field for problem in listed.invalid] == ["data[1].url"]
    assert "data[1].url" in caplog.text


def test_a_list_without_data_is_malformed(server: ScriptedServer, trigger: TriggerClient) -> None:
    server.add(json_reply({"items": []}))
    with pytest.raises(MalformedResponseError) as excinfo:
        trigger.runs.list_page()
    assert excinfo.value.field == "response.data"


def test_bad_json_is_malformed(server: ScriptedServer, trigger: TriggerClient) -> None:
    server.add(Reply(body=b"<html>gateway</html>", headers={"Content-Type": "text/html"}))
    with pytest.raises(MalformedResponseError) as excinfo:
        trigger.runs.retrieve("run_abc")
    assert excinfo.value.field == "body" and "not valid JSON" in str(excinfo.value)


def test_complete_insists_on_success_true(server: ScriptedServer, trigger: TriggerClient) -> None:
    server.add(json_reply({"ok": True}))
    with pytest.raises(MalformedResponseError) as excinfo:
        trigger.waitpoints.complete("waitpoint_abc", {})
    assert excinfo.value.field == "success"


def _retrieved(server: ScriptedServer, trigger: TriggerClient, **fields: Any) -> WaitpointToken:
    server.add(json_reply(token_json(**fields)))
    return trigger.waitpoints.retrieve("waitpoint_abc")


def test_superjson_output_is_decoded(server: ScriptedServer, trigger: TriggerClient) -> None:
    token = _retrieved(
        server,
        trigger,
        status="COMPLETED",
        output=json.dumps({"json": {"approved": True, "by": "r@example.com"}, "meta": {}}),
        outputType="application/super+json",
        outputIsError=False,
        completedAt="2025-08-01T10:05:00.000Z",
    )
    assert token.output == {"approved": True, "by": "r@example.com"}
    assert token.completed_at == datetime(2025, 8, 1, 10, 5, tzinfo=UTC)
    assert token.timeout_error is None


def test_plain_json_and_text_outputs_are_decoded(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    as_json = _retrieved(server, trigger, output="[1, 2]", outputType="application/json")
    as_text = _retrieved(server, trigger, output="yes, ship it", outputType="text/plain")
    untyped = _retrieved(server, trigger, output='{"a": 1}')
    assert as_json.output == [1, 2]
    assert as_text.output == "yes, ship it"
    assert untyped.output == {"a": 1}


def test_a_timed_out_token_exposes_the_timeout_message(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    message = "Waitpoint timed out at 2025-08-02T10:00:00.000Z"
    token = _retrieved(
        server,
        trigger,
        status="TIMED_OUT",
        output=json.dumps({"code": "TRIGGER_WAITPOINT_TIMEOUT", "message": message}),
        outputType="application/json",
        outputIsError=True,
    )
    assert token.output_is_error
    assert token.timeout_error == message


def test_token_without_optional_fields(server: ScriptedServer, trigger: TriggerClient) -> None:
    token = _retrieved(server, trigger, timeoutAt=None, completedAfter=None, tags=None)
    assert token.timeout_at is None and token.tags == () and token.output is None


def test_token_list_refilters_the_loose_multi_status_filter(
    server: ScriptedServer, trigger: TriggerClient
) -> None:
    server.add(
        json_reply(
            page(
                [
                    token_json("waitpoint_1"),
                    token_json("waitpoint_2", status="COMPLETED"),
                    token_json("waitpoint_3", status="TIMED_OUT"),
                ]
            )
        )
    )
    tokens = trigger.waitpoints.list_page(status=["WAITING", "TIMED_OUT"])
    assert [t.id for t in tokens] == ["waitpoint_1", "waitpoint_3"]
