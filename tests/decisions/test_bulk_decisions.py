from __future__ import annotations

import pytest

from approvals.decisions import AlreadyDecided, DecisionResult, NotPermitted, decide, decide_many
from approvals.models import Decision
from tests.decisions.helpers import completions
from tests.factories import approval_for_sandbox_run, make_approval

pytestmark = pytest.mark.django_db(transaction=True)


def test_each_item_is_rechecked_and_refusals_do_not_stop_the_rest(
    live_sandbox, reviewer, second_reviewer
):
    first, second = live_sandbox.start_run(), live_sandbox.start_run()
    approval_for_sandbox_run(first)
    approval_for_sandbox_run(second)
    taken = make_approval()
    decide(
        token_id=taken.token_id,
        actor=second_reviewer,
        verdict="reject",
        comment="x",
        deliver_now=False,
    )
    own = make_approval(requested_by="rita@example.com")

    outcomes = dict(
        decide_many(
            token_ids=[
                first["tokenId"],
                taken.token_id,
                own.token_id,
                second["tokenId"],
                first["tokenId"],
            ],
            actor=reviewer,
            verdict="approve",
            comment="batch",
        )
    )

    assert list(outcomes) == [first["tokenId"], taken.token_id, own.token_id, second["tokenId"]]
    assert isinstance(outcomes[first["tokenId"]], DecisionResult)
    assert outcomes[second["tokenId"]].delivery == "delivered"
    assert isinstance(outcomes[taken.token_id], AlreadyDecided)
    assert isinstance(outcomes[own.token_id], NotPermitted)
    assert Decision.objects.filter(actor=reviewer).count() == 2
    assert completions(live_sandbox) == 2
