"""The optional Markdown ``summary`` of an announcement (README.md, "The approval contract")."""

from __future__ import annotations

import re

import httpx

from approvals.sandbox import SandboxApp
from tests.sandbox.conftest import internal_run, start_run


def _announcements(app: SandboxApp) -> list[dict[str, object]]:
    return [record for run in app.world.runs.values() for record in run.metadata["waitTokens"]]


def test_a_summary_goes_in_the_announcement_next_to_the_description(
    app: SandboxApp, sandbox_http: httpx.Client
) -> None:
    started = start_run(sandbox_http, summary="Pays **42 EUR**.")

    run = internal_run(sandbox_http, started["runId"])

    (record,) = run["metadata"]["waitTokens"]
    assert record["summary"] == "Pays **42 EUR**."
    assert record["description"] == "Pay invoice 42"
    run_id = started["runId"].removeprefix("run_")
    (streamed,) = app.world.stream_records(run_id, "wait-tokens")
    assert streamed.data == record


def test_no_summary_no_key(sandbox_http: httpx.Client) -> None:
    started = start_run(sandbox_http)

    (record,) = internal_run(sandbox_http, started["runId"])["metadata"]["waitTokens"]

    assert "summary" not in record


def test_a_summary_must_be_text(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.post("/_sandbox/runs", json={"summary": {"md": "x"}})

    assert response.status_code == 400


def test_the_demo_tasks_write_markdown_summaries(demo_app: SandboxApp) -> None:
    summaries = [
        str(record["summary"]) for record in _announcements(demo_app) if "summary" in record
    ]

    assert len(summaries) >= 4
    for summary in summaries:
        assert re.search(r"\*\*[^*]+\*\*", summary)  # bold
        assert re.search(r"^- ", summary, re.MULTILINE)  # a bullet list
        assert re.search(r"\]\(https://[^)]+\)", summary)  # a link to an https URL
        assert "\n\n" in summary  # paragraphs
