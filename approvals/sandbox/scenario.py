"""Simulated tasks that follow the approval contract (README.md, "The approval contract"), and the
demo scenario.

A task run starts EXECUTING with the tag ``needs-approval``, creates a token tagged
``needs-approval`` and ``run:<runId>`` (with a timeout and an idempotency key), announces it in
its metadata (``waitTokens``) and on its ``wait-tokens`` stream, then waits. When the token is
completed the run goes back to EXECUTING and, half a second of sandbox time later, completes with
``{"status": "approved" | "rejected", "decision": <token output>}``. A timed-out token also
completes the run (successfully) with ``{"status": "timed-out"}``, the way a task that handles
``result.ok === false`` would.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from approvals.sandbox import tokens
from approvals.sandbox.config import SandboxConfig
from approvals.sandbox.models import TOKEN_COMPLETED, Run, Token, iso
from approvals.sandbox.world import World

APPROVAL_TAG = "needs-approval"
WAIT_TOKENS_STREAM = "wait-tokens"
# Sandbox seconds between a token completing and the run finishing.
RESUME_SECONDS = 0.5
# How long a simulated run works before it creates its token (it starts 800 ms in).
RUN_STARTUP = timedelta(seconds=1)
STATUS_MODES = ("v4", "delayed", "executing")
SCENARIOS = ("demo", "empty")

_WAITING_STATUS = {
    "v4": "WAITING_TO_RESUME",  # checkpointed, as in deployed environments
    "delayed": "DELAYED",  # the seed's (wrong) assumption
    # Dev environments never checkpoint (docs/trigger-v4.md, "Run statuses").
    "executing": "EXECUTING",
}

_REQUESTERS = [
    "alice.johnson@example.com",
    "bob.martin@example.com",
    "priya.shah@example.com",
    "tom.nguyen@example.com",
    "li.wei@example.com",
    "deploy-bot@example.com",
]
_TIMEOUTS = [
    timedelta(minutes=20),
    timedelta(minutes=45),
    timedelta(hours=2),
    timedelta(hours=8),
    timedelta(days=1),
    timedelta(days=3),
    timedelta(days=7),
]


@dataclass
class ApprovalRequest:
    task: str
    payload: Any
    description: str
    timeout: timedelta | datetime | None
    requested_by: str | None = None
    tags: list[str] | None = None
    schema: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    # Markdown the task writes for the reviewer (the announcement's optional ``summary``).
    summary: str | None = None


def _deploy(rng: random.Random) -> ApprovalRequest:
    service = rng.choice(["api-gateway", "billing-service", "search-indexer", "web-frontend"])
    version = f"v{rng.randint(1, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
    sha = "".join(rng.choice("0123456789abcdef") for _ in range(7))
    changes = rng.randint(1, 40)
    ci_url = f"https://ci.example.com/builds/{rng.randint(1000, 9999)}"
    return ApprovalRequest(
        task="deploy-production",
        payload={"service": service, "version": version, "commit": sha, "changes": changes},
        description=f"Deploy {service} {version} ({sha}) to production",
        timeout=None,
        tags=[f"service:{service}", "env:production"],
        context={"ciUrl": ci_url},
        summary=(
            f"Ships **{service} {version}** to production: {changes} merged changes since the"
            " last release, all checks green on staging.\n\n"
            "- Database migrations: **none**\n"
            "- Feature flags: new code paths stay off until enabled\n"
            "- Rollback: redeploy the previous version (about 3 minutes)\n\n"
            f"[CI build and test report]({ci_url})"
        ),
    )


def _invoice(rng: random.Random) -> ApprovalRequest:
    number = rng.randint(1, 999)
    vendor = rng.choice(["Acme Supplies Ltd", "Globex GmbH", "Initech SARL", "Umbrella Corp"])
    amount = round(rng.uniform(250, 48000), 2)
    currency = rng.choice(["EUR", "USD", "GBP"])
    due = f"2025-09-{rng.randint(1, 28):02d}"
    invoice = f"INV-2025-{number:04d}"
    return ApprovalRequest(
        task="approve-invoice",
        payload={
            "invoiceId": invoice,
            "vendor": vendor,
            "amount": amount,
            "currency": currency,
            "dueDate": due,
        },
        description=f"Pay invoice {invoice} from {vendor}",
        timeout=None,
        tags=[f"invoice:{number}", "finance"],
        schema={
            "type": "object",
            "properties": {
                "costCenter": {"type": "string", "enum": ["R&D", "Sales", "Operations"]},
                "approvedAmount": {"type": "number", "minimum": 0},
                "notes": {"type": "string"},
            },
            "required": ["costCenter"],
        },
        summary=(
            f"**{amount:,.2f} {currency}** to {vendor}, due on {due}. The invoice matches its"
            " purchase order and the goods were received.\n\n"
            "- Choose the cost center it is booked against\n"
            "- Lower the approved amount to pay part of it\n\n"
            f"[The invoice in the finance system](https://erp.example.com/invoices/{invoice})"
        ),
    )


def _article(rng: random.Random) -> ApprovalRequest:
    title = rng.choice(
        [
            "Ten lessons from running queues at scale",
            "Our Q3 product update",
            "How we cut cold starts by 40%",
            "A field guide to idempotency keys",
        ]
    )
    slug = title.lower().replace(" ", "-").replace("%", "")
    return ApprovalRequest(
        task="publish-article",
        payload={"slug": slug, "title": title, "wordCount": rng.randint(600, 3200)},
        description=f'Publish "{title}" on the blog',
        timeout=None,
        tags=["content", f"article:{slug[:40]}"],
    )


def _refund(rng: random.Random) -> ApprovalRequest:
    order = rng.randint(10000, 99999)
    amount = round(rng.uniform(9.99, 899), 2)
    customer = f"customer{rng.randint(1, 500)}@example.org"
    reason = rng.choice(["damaged item", "late delivery", "duplicate charge"])
    return ApprovalRequest(
        task="refund-customer",
        payload={
            "orderId": f"ORD-{order}",
            "customerEmail": customer,
            "amount": amount,
            "currency": "USD",
            "reason": reason,
        },
        description=f"Refund ${amount:.2f} for order ORD-{order}",
        timeout=None,
        tags=[f"order:{order}", "support"],
        summary=(
            f"The customer asks for a refund of **${amount:.2f}** on order ORD-{order}"
            f" (reason: {reason}). Refunds need a comment saying what was checked.\n\n"
            "- Paid by card; the refund goes back to the same card\n"
            "- No earlier refund on this order\n\n"
            f"[Support conversation](https://support.example.com/orders/ORD-{order})"
        ),
    )


def _access(rng: random.Random) -> ApprovalRequest:
    user = rng.choice(["maria.garcia", "kenji.sato", "olivia.brown", "noah.smith"])
    resource = rng.choice(["prod-database", "billing-dashboard", "aws-root-console", "hr-records"])
    role = rng.choice(["read-only", "admin", "operator"])
    return ApprovalRequest(
        task="grant-access",
        payload={
            "user": f"{user}@example.com",
            "resource": resource,
            "role": role,
            "durationDays": rng.choice([1, 7, 30]),
        },
        description=f"Grant {user}@example.com {role} access to {resource}",
        timeout=None,
        tags=[f"resource:{resource}", "security"],
        summary=(
            f"{user}@example.com asks for **{role}** access to `{resource}`. The access ends"
            " by itself when its duration is over.\n\n"
            "- Approving grants it at once\n"
            "- Rejecting tells the requester why\n\n"
            "[Access policy](https://wiki.example.com/security/access-policy)"
        ),
    )


_GENERATORS = [_deploy, _invoice, _article, _refund, _access]


class Scenario:
    def __init__(
        self,
        world: World,
        *,
        name: str = "demo",
        seed: int = 0,
        status_mode: str = "v4",
        config: SandboxConfig | None = None,
    ):
        if name not in SCENARIOS:
            raise ValueError(f"scenario must be one of {SCENARIOS}, not {name!r}")
        if status_mode not in STATUS_MODES:
            raise ValueError(f"status_mode must be one of {STATUS_MODES}, not {status_mode!r}")
        self.world = world
        self.name = name
        self.seed = seed
        self.status_mode = status_mode
        self.config = config or SandboxConfig()
        self._tick_lock = threading.Lock()
        self._rng = random.Random(f"scenario-{seed}")
        self._next_arrival: float | None = None
        self.populate()

    @property
    def waiting_status(self) -> str:
        return _WAITING_STATUS[self.status_mode]

    # ---- starting runs ---------------------------------------------------------------------

    def start_approval(
        self, request: ApprovalRequest, *, age: timedelta | None = None
    ) -> tuple[Run, Token]:
        """Start a run that asks for approval; it is announced and waiting when this returns."""
        world = self.world
        with world.lock:
            # The token is stamped by the world's clock at the moment it is created, and the
            # world shows it from then on: its createdAt is never later than the first moment
            # a client (the dashboard's sync) can see it. A back-dated request moves the whole
            # story back; the run always started a little before it made its token.
            token_created = world.clock.now() - (age or timedelta(0))
            created = token_created - RUN_STARTUP
            run = world.add_run(
                Run(
                    id=world.new_id(),
                    number=world.next_run_number(),
                    task_identifier=request.task,
                    status="EXECUTING",
                    payload=request.payload,
                    tags=[APPROVAL_TAG, *(request.tags or [])],
                    created_at=created,
                    updated_at=created,
                    started_at=created + timedelta(milliseconds=800),
                    queue=f"task/{request.task}",
                    version=f"2025080{1 + self.seed % 9}.{1 + run_version_bump(request.task)}",
                    duration_ms=1200,
                    cost_in_cents=0.0112,
                )
            )
            if isinstance(request.timeout, timedelta):
                timeout_at: datetime | None = token_created + request.timeout
            else:
                timeout_at = request.timeout
            token = tokens.create_token(
                world,
                idempotency_key=f"approval-{run.friendly_id}",
                tags=[APPROVAL_TAG, f"run:{run.friendly_id}"],
                created_at=token_created,
            ).token
            # Set afterwards: back-dated demo history may have a timeout that already passed,
            # which the API would ignore; the next tick times such a token out.
            world.update_token(token, timeout_at=timeout_at)
            record: dict[str, Any] = {
                "id": token.friendly_id,
                "description": request.description,
                "createdAt": iso(token.created_at),
            }
            if request.summary:
                record["summary"] = request.summary
            if token.timeout_at is not None:
                record["expiresAt"] = iso(token.timeout_at)
            if request.requested_by:
                record["requestedBy"] = request.requested_by
            if request.schema is not None:
                record["schema"] = request.schema
            if request.context is not None:
                record["context"] = request.context
            announced = list(run.metadata.get("waitTokens", [])) + [record]
            world.update_run(
                run.id,
                metadata={**run.metadata, "waitTokens": announced},
                realtime_streams=[WAIT_TOKENS_STREAM],
            )
            world.append_stream(run.id, WAIT_TOKENS_STREAM, record)
            world.update_run(run.id, status=self.waiting_status, waiting_on_token=token.id)
            return run, token

    def _random_request(self) -> ApprovalRequest:
        rng = self._rng
        request = rng.choice(_GENERATORS)(rng)
        return self._dress(request)

    def _dress(self, request: ApprovalRequest) -> ApprovalRequest:
        rng = self._rng
        request.timeout = rng.choice(_TIMEOUTS)
        request.requested_by = rng.choice(_REQUESTERS)
        return request

    # ---- the demo --------------------------------------------------------------------------

    def populate(self) -> None:
        """Fill the world with the scenario's starting state (nothing for "empty")."""
        self._rng = random.Random(f"scenario-{self.seed}")
        self._next_arrival = None
        if self.name != "demo":
            return
        rng = self._rng
        # Every kind of task once (the invoice brings the JSON schema), then one or three more.
        requests = [self._dress(generator(rng)) for generator in _GENERATORS]
        requests += [self._random_request() for _ in range(rng.randint(1, 3))]
        rng.shuffle(requests)
        for request in requests:
            assert isinstance(request.timeout, timedelta)
            # Waiting for a while already, but never past half of its timeout.
            age_limit = min(request.timeout.total_seconds() / 2, 5 * 3600)
            self.start_approval(request, age=timedelta(seconds=rng.uniform(60, age_limit)))
        # Some history: one approved and finished, one that timed out.
        for outcome in ("approved", "timed-out"):
            request = self._random_request()
            request.timeout = timedelta(hours=1)
            run, token = self.start_approval(request, age=timedelta(hours=rng.uniform(2, 20)))
            if outcome == "approved":
                tokens.complete(
                    self.world,
                    token,
                    {
                        "approved": True,
                        "decision": "approved",
                        "approvedBy": "reviewer@example.com",
                        "comments": "Looks good",
                    },
                )
            self.tick()
            self._finish(run)
        self._schedule_arrival()

    def _schedule_arrival(self) -> None:
        self._next_arrival = self.world.clock.time() + self._rng.uniform(30, 90)

    def reset(self) -> None:
        with self.world.lock:
            self.world.reset()
            self.populate()

    # ---- time passing ----------------------------------------------------------------------

    def tick(self) -> None:
        """Advance the simulation to the clock's now: timeouts, resumes, finishes, arrivals."""
        world = self.world
        with world.lock:
            tokens.expire_due(world)
            now = world.clock.now()
            # Only the runs with something due, not every run: the ticker and every API
            # request tick, and a benchmark's world holds thousands of runs.
            for run in world.runs_to_advance(now, resume=self.config.resume_runs):
                if run.waiting_on_token is not None:
                    token = world.tokens.get(run.waiting_on_token)
                    if (
                        token is not None
                        and token.status == TOKEN_COMPLETED
                        and self.config.resume_runs
                    ):
                        self._resume(run, token, now)
                elif run.finish_at is not None and run.finish_at <= now:
                    self._finish(run)
            if (
                self.name == "demo"
                and self._next_arrival is not None
                and world.clock.time() >= self._next_arrival
            ):
                # One arrival per tick at most, so a clock jumped by days does not flood the world.
                self.start_approval(self._random_request())
                self._schedule_arrival()

    def _resume(self, run: Run, token: Token, now: datetime) -> None:
        if token.output_is_error:
            result: dict[str, Any] = {"status": "timed-out"}
        else:
            decision = tokens.decode_output(token)
            rejected = isinstance(decision, dict) and (
                decision.get("approved") is False or decision.get("decision") == "rejected"
            )
            result = {"status": "rejected" if rejected else "approved", "decision": decision}
        self.world.update_run(
            run.id,
            status="EXECUTING",
            waiting_on_token=None,
            pending_output=result,
            finish_at=now + timedelta(seconds=RESUME_SECONDS),
        )

    def _finish(self, run: Run) -> None:
        if run.finish_at is None:
            return
        now = self.world.clock.now()
        self.world.update_run(
            run.id,
            status="COMPLETED_SUCCESSFULLY",
            completed_at=now,
            output=run.pending_output,
            has_output=True,
            finish_at=None,
            duration_ms=run.duration_ms + 350,
        )


def run_version_bump(task: str) -> int:
    """A stable per-task deployment number, so version filters have something to match."""
    return sum(map(ord, task)) % 5
