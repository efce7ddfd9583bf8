from __future__ import annotations

import pytest

from approvals.decisions import decide
from approvals.models import DeliveryState
from tests.decisions.helpers import finished_run
from tests.factories import approval_for_sandbox_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_reviewer_rejects_and_the_run_resumes_rejected(live_sandbox, reviewer):
    ids = live_sandbox.start_run()
    approval_for_sandbox_run(ids)

    result = decide(
        token_id=ids["tokenId"], actor=reviewer, verdict="reject", comment="  Not on Friday "
    )

    assert result.delivery == DeliveryState.DELIVERED
    envelope = result.decision.envelope
    assert set(envelope) == {"approved", "decision", "rejectedBy", "reason", "rejectedAt"}
    assert envelope["approved"] is False
    assert envelope["decision"] == "rejected"
    assert envelope["rejectedBy"] == "rita@example.com"
    assert envelope["reason"] == "Not on Friday"
    run = finished_run(live_sandbox, ids["runId"])
    assert run["output"] == {"status": "rejected", "decision": envelope}
