"""One unreadable or unstorable upstream record never stops the sync of the others.

JavaScript tasks can put NaN or 1e999 in a payload; a payload can be nested thousands of
levels deep; an id can hold a NUL or a path; one run's retrieve can keep failing. Each such
record is skipped (or cleaned) and counted, and every other approval still syncs.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from approvals.models import Approval
from approvals.sync import reconcile as sync
from approvals.sync import sync_once
from approvals.trigger import RetryPolicy, TriggerClient


def _raw_run(live_sandbox: Any, body: str) -> dict[str, str]:
    """Start a sandbox run from a raw request body (NaN is not JSON, but JavaScript sends it)."""
    response = httpx.post(
        f"{live_sandbox.url}/_sandbox/runs",
        content=body,
        headers={"content-type": "application/json"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


class Rewriting(httpx.BaseTransport):
    """A misbehaving proxy in front of the real sandbox: ``rewrite(request, body)`` may
    change each answer's bytes."""

    def __init__(self, rewrite: Any) -> None:
        self.rewrite = rewrite
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        body = response.read()
        status, body = self.rewrite(request, response.status_code, body)
        return httpx.Response(status, headers={"content-type": "application/json"}, content=body)


def _through(live_sandbox: Any, rewrite: Any) -> TriggerClient:
    return TriggerClient(
        secret_key=live_sandbox.secret_key,
        base_url=live_sandbox.url,
        retry=RetryPolicy(max_attempts=2, min_delay=0.001, max_delay=0.01),
        transport=Rewriting(rewrite),
    )


def test_nan_and_infinity_in_a_payload_become_null_and_the_rest_syncs(
    db: None, live_sandbox: Any, trigger: TriggerClient
) -> None:
    poison = _raw_run(
        live_sandbox,
        '{"task": "nan-payload", "payload": {"amount": NaN, "big": 1e999, "low": -Infinity,'
        ' "ok": 1.5}, "description": "poison", "timeout": "1h"}',
    )
    healthy = live_sandbox.start_run(description="healthy")

    report = sync_once(client=trigger)

    assert report.ok, report.error
    assert Approval.objects.filter(token_id=healthy["tokenId"]).exists()
    stored = Approval.objects.get(token_id=poison["tokenId"])
    assert stored.payload == {"amount": None, "big": None, "low": None, "ok": 1.5}
    assert sync.NOTE_NON_FINITE in stored.upstream_notes


def test_a_payload_nested_thousands_of_levels_deep_is_cut_and_the_rest_syncs(
    db: None, live_sandbox: Any, trigger: TriggerClient
) -> None:
    deep = live_sandbox.start_run(description="deep")
    healthy = live_sandbox.start_run(description="healthy")
    marker = b'"DEEP-PAYLOAD"'

    def deepen(request: httpx.Request, status: int, body: bytes) -> tuple[int, bytes]:
        if request.url.path == f"/api/v3/runs/{deep['runId']}":
            data = json.loads(body)
            data["payload"], data["payloadType"] = "DEEP-PAYLOAD", "application/json"
            body = json.dumps(data).encode().replace(marker, b"[" * 3_000 + b"]" * 3_000)
        return status, body

    with _through(live_sandbox, deepen) as deepening:
        report = sync_once(client=deepening)

    assert report.ok, report.error
    assert Approval.objects.filter(token_id=healthy["tokenId"]).exists()
    stored = Approval.objects.get(token_id=deep["tokenId"])
    assert sync.NOTE_TOO_DEEP in stored.upstream_notes
    depth, value = 0, stored.payload
    while isinstance(value, list) and value:
        depth, value = depth + 1, value[0]
    assert depth <= sync.JSON_MAX_DEPTH + 1
    assert value == sync.TOO_DEEP_MARKER


@pytest.mark.parametrize("bad_id", ["run_a\\u0000b", "run_../../admin", "run_x?y#z"])
def test_a_run_with_a_malformed_id_is_skipped_and_logged(
    db: None,
    live_sandbox: Any,
    trigger: TriggerClient,
    caplog: pytest.LogCaptureFixture,
    bad_id: str,
) -> None:
    hostile = live_sandbox.start_run(description="hostile id")
    healthy = live_sandbox.start_run(description="healthy")

    def corrupt_id(request: httpx.Request, status: int, body: bytes) -> tuple[int, bytes]:
        return status, body.replace(hostile["runId"].encode(), bad_id.encode())

    with (
        caplog.at_level(logging.WARNING, "approvals.sync"),
        _through(live_sandbox, corrupt_id) as c,
    ):
        report = sync_once(client=c)

    assert report.ok, report.error
    assert report.skipped >= 1
    assert "malformed id" in caplog.text
    assert Approval.objects.filter(token_id=healthy["tokenId"]).exists()
    assert not Approval.objects.filter(token_id=hostile["tokenId"]).exists()
    assert "\x00" not in caplog.text  # the hostile id is logged escaped


def test_a_token_with_a_malformed_id_is_skipped(
    db: None, live_sandbox: Any, trigger: TriggerClient
) -> None:
    hostile = live_sandbox.start_run(description="hostile token id")
    healthy = live_sandbox.start_run(description="healthy")

    def corrupt_id(request: httpx.Request, status: int, body: bytes) -> tuple[int, bytes]:
        return status, body.replace(hostile["tokenId"].encode(), b"waitpoint_/../x?#")

    with _through(live_sandbox, corrupt_id) as corrupting:
        report = sync_once(client=corrupting)

    assert report.ok and report.skipped >= 1
    assert list(Approval.objects.values_list("token_id", flat=True)) == [healthy["tokenId"]]


def test_a_run_whose_details_keep_failing_is_skipped_then_synced_when_it_recovers(
    db: None, live_sandbox: Any, trigger: TriggerClient
) -> None:
    failing = live_sandbox.start_run(description="details fail")
    healthy = live_sandbox.start_run(description="healthy")

    def fail_details(request: httpx.Request, status: int, body: bytes) -> tuple[int, bytes]:
        if request.url.path == f"/api/v3/runs/{failing['runId']}":
            return 500, b'{"error": "Internal Server Error"}'
        return status, body

    with _through(live_sandbox, fail_details) as failing_client:
        report = sync_once(client=failing_client)

    assert report.ok, report.error
    assert report.skipped >= 1 and "skipped=" in report.summary()
    assert Approval.objects.filter(token_id=healthy["tokenId"]).exists()
    assert not Approval.objects.filter(token_id=failing["tokenId"]).exists()

    assert sync_once(client=trigger).created == 1
    assert Approval.objects.filter(token_id=failing["tokenId"]).exists()


def test_the_database_refusing_one_row_skips_only_that_row(
    db: None, live_sandbox: Any, trigger: TriggerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = live_sandbox.start_run(description="refused by the database")
    healthy = live_sandbox.start_run(description="healthy")
    real_fields = sync.approval_fields

    def fields_the_database_refuses(**kwargs: Any) -> dict[str, Any]:
        fields = real_fields(**kwargs)
        if kwargs["run"].id == refused["runId"]:
            fields["created_at"] = None  # NOT NULL: refused on every database
        return fields

    monkeypatch.setattr(sync, "approval_fields", fields_the_database_refuses)

    report = sync_once(client=trigger)

    assert report.ok, report.error
    assert report.created == 1 and report.skipped >= 1
    assert list(Approval.objects.values_list("token_id", flat=True)) == [healthy["tokenId"]]


def test_the_detail_page_says_what_was_changed_to_store_the_payload(
    db: None, live_sandbox: Any, trigger: TriggerClient, reviewer: Any
) -> None:
    from django.test import Client

    poison = _raw_run(
        live_sandbox,
        '{"task": "nan-payload", "payload": {"amount": NaN}, "description": "poison"}',
    )
    sync_once(client=trigger)
    browser = Client()
    browser.force_login(reviewer)

    page = browser.get(f"/approvals/{poison['tokenId']}/").content.decode()

    assert "NaN or Infinity, which JSON cannot hold, is shown as null." in page


@pytest.mark.parametrize(
    "schema",
    [
        '{"properties": {"limit": {"type": "number", "maximum": NaN}}}',
        '{"properties": {"env": {"type": "string", "enum": ["prod\\u0000", "dev"]}}}',
        '"not an object"',
    ],
)
def test_a_form_the_sync_had_to_alter_blocks_approving_with_a_reason(
    db: None, live_sandbox: Any, trigger: TriggerClient, reviewer: Any, schema: str
) -> None:
    from approvals.decisions import NotPermitted, decide
    from approvals.envelopes import FORM_ALTERED

    ids = live_sandbox.start_run(description="altered form")
    run = live_sandbox.app.world.find_run(ids["runId"])
    record = {**run.metadata["waitTokens"][0], "schema": json.loads(schema.replace("NaN", "1e999"))}
    live_sandbox.app.world.update_run(run.id, metadata={**run.metadata, "waitTokens": [record]})

    assert sync_once(client=trigger).ok
    stored = Approval.objects.get(token_id=ids["tokenId"]).form_schema
    assert isinstance(stored, dict) and stored["altered"] is True

    with pytest.raises(NotPermitted) as refused:
        decide(token_id=ids["tokenId"], actor=reviewer, verdict="approve", deliver_now=False)
    assert refused.value.message == FORM_ALTERED
