from __future__ import annotations

import pytest

from approvals.decisions import decide
from approvals.models import Approval, ApprovalState, Decision, DeliveryState
from tests.decisions.helpers import completions, finished_run, token_upstream
from tests.factories import approval_for_sandbox_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_reviewer_approves_and_the_run_resumes_with_the_exact_envelope(live_sandbox, reviewer):
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)

    result = decide(token_id=ids["tokenId"], actor=reviewer, verdict="approve", comment="Ship it")

    assert result.delivery == DeliveryState.DELIVERED
    assert result.message == "Approved: Trigger.dev has resumed the run."
    envelope = result.decision.envelope
    assert set(envelope) == {"approved", "decision", "approvedBy", "comments", "approvedAt"}
    assert envelope["approved"] is True
    assert envelope["decision"] == "approved"
    assert envelope["approvedBy"] == "rita@example.com"
    assert envelope["comments"] == "Ship it"
    assert envelope["approvedAt"].endswith("Z")
    run = finished_run(live_sandbox, ids["runId"])
    assert run["status"] == "COMPLETED_SUCCESSFULLY"
    assert run["output"] == {"status": "approved", "decision": envelope}
    assert completions(live_sandbox) == 1


def test_the_decision_is_recorded_as_audit_log_and_the_approval_leaves_the_queue(
    live_sandbox, reviewer
):
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)

    decide(token_id=ids["tokenId"], actor=reviewer, verdict="approve", comment="ok")

    decision = Decision.objects.get(approval__token_id=ids["tokenId"])
    assert decision.actor == reviewer
    assert decision.comment == "ok"
    assert decision.attempts == 1
    assert decision.delivered_at is not None
    approval = Approval.objects.get(token_id=ids["tokenId"])
    assert approval.state == ApprovalState.DECIDED
    assert approval.closed_reason == "approved by rita@example.com"


def test_username_stands_in_when_the_reviewer_has_no_email(live_sandbox, reviewer):
    reviewer.email = ""
    reviewer.save()
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)

    result = decide(token_id=ids["tokenId"], actor=reviewer, verdict="approve")

    assert result.decision.envelope["approvedBy"] == "rita"
    assert token_upstream(live_sandbox, ids["tokenId"])["status"] == "COMPLETED"


def test_typed_form_fields_go_into_the_output(live_sandbox, reviewer):
    schema = {
        "type": "object",
        "properties": {
            "ticket": {"type": "string"},
            "replicas": {"type": "integer", "minimum": 1},
            "canary": {"type": "boolean"},
            "region": {"type": "string", "enum": ["eu", "us"]},
        },
        "required": ["ticket"],
    }
    ids = live_sandbox.start_run(schema=schema)
    approval_for_sandbox_run(ids, form_schema=schema)

    result = decide(
        token_id=ids["tokenId"],
        actor=reviewer,
        verdict="approve",
        fields={"ticket": "OPS-1", "replicas": 3, "canary": False, "region": "eu"},
    )

    run = finished_run(live_sandbox, ids["runId"])
    output = run["output"]["decision"]
    assert output == result.decision.envelope
    assert (output["ticket"], output["replicas"], output["canary"], output["region"]) == (
        "OPS-1",
        3,
        False,
        "eu",
    )
