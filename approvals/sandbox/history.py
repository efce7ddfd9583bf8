"""Three requests from the demo's past, for a dashboard that wants history to show: one to be
approved (by two reviewers), one to be rejected, one that nobody decides before its timeout.

The sandbox only tells the story's requests; whoever replays them (the dashboard's
``prepare_demo``) starts them in a world, lets its sync see them waiting, decides the first two
and lets the clock run past the third's timeout. Each carries a ``demo-history:<outcome>`` tag
on its run, so a replay can tell which of them it already has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from approvals.sandbox.scenario import ApprovalRequest

HISTORY_TAG = "demo-history"
APPROVED = "approved"
REJECTED = "rejected"
TIMED_OUT = "timed-out"
# The request that times out does so this long after it is started: long enough for a sync
# pass to see it waiting first, short enough for the replay to jump the clock past it.
TIMES_OUT_AFTER = timedelta(seconds=5)


@dataclass(frozen=True)
class PastRequest:
    outcome: str
    request: ApprovalRequest
    # How long ago its token was created when the replay starts it.
    age: timedelta

    @property
    def tag(self) -> str:
        return history_tag(self.outcome)


def history_tag(outcome: str) -> str:
    return f"{HISTORY_TAG}:{outcome}"


def past_requests() -> list[PastRequest]:
    """The three requests, oldest first."""
    deploy = ApprovalRequest(
        task="deploy-production",
        payload={
            "service": "billing-service",
            "version": "v3.8.0",
            "commit": "4f2c9a1",
            "changes": 12,
        },
        description="Deploy billing-service v3.8.0 (4f2c9a1) to production",
        timeout=timedelta(days=1),
        requested_by="deploy-bot@example.com",
        tags=["service:billing-service", "env:production", history_tag(APPROVED)],
        context={"ciUrl": "https://ci.example.com/builds/4711"},
        summary=(
            "Ships **billing-service v3.8.0** to production: 12 merged changes, including the"
            " new invoice rounding rules.\n\n"
            "- Database migrations: **one**, additive (a new nullable column)\n"
            "- Canary: 30 minutes on 5% of traffic, no errors\n\n"
            "[CI build and test report](https://ci.example.com/builds/4711)"
        ),
    )
    refund = ApprovalRequest(
        task="refund-customer",
        payload={
            "orderId": "ORD-48213",
            "customerEmail": "customer212@example.org",
            "amount": 649.0,
            "currency": "USD",
            "reason": "duplicate charge",
        },
        description="Refund $649.00 for order ORD-48213",
        timeout=timedelta(days=2),
        requested_by="tom.nguyen@example.com",
        tags=["order:48213", "support", history_tag(REJECTED)],
        summary=(
            "The customer reports a **duplicate charge of $649.00** on order ORD-48213.\n\n"
            "- Paid by card\n"
            "- A refund for this order may already have been issued by the payment provider\n\n"
            "[Support conversation](https://support.example.com/orders/ORD-48213)"
        ),
    )
    access_timeout = timedelta(hours=2)
    access = ApprovalRequest(
        task="grant-access",
        payload={
            "user": "kenji.sato@example.com",
            "resource": "aws-root-console",
            "role": "admin",
            "durationDays": 1,
        },
        description="Grant kenji.sato@example.com admin access to aws-root-console",
        timeout=access_timeout,
        requested_by="kenji.sato@example.com",
        tags=["resource:aws-root-console", "security", history_tag(TIMED_OUT)],
        summary=(
            "kenji.sato@example.com asks for **admin** access to `aws-root-console` for one"
            " day, to rotate the root account's keys.\n\n"
            "- Approving grants it at once\n"
            "- Nobody deciding within two hours means no access\n\n"
            "[Access policy](https://wiki.example.com/security/access-policy)"
        ),
    )
    return [
        PastRequest(APPROVED, deploy, age=timedelta(hours=6)),
        PastRequest(REJECTED, refund, age=timedelta(hours=4)),
        PastRequest(TIMED_OUT, access, age=access_timeout - TIMES_OUT_AFTER),
    ]
