"""API shapes of runs and tokens. Absent values are omitted, never null (reference, top note)."""

from __future__ import annotations

from typing import Any

from approvals.sandbox import statuses, tokens
from approvals.sandbox.context import Context
from approvals.sandbox.models import Run, Token, iso


def run_common(ctx: Context, run: Run, api_version: str | None) -> dict[str, Any]:
    status = statuses.api_status(run.status, api_version)
    data: dict[str, Any] = {
        "id": run.friendly_id,
        "status": status,
        "taskIdentifier": run.task_identifier,
        "version": run.version,
        "createdAt": iso(run.created_at),
        "updatedAt": iso(run.updated_at),
        "isTest": run.is_test,
        "ttl": run.ttl,
        "env": {"id": ctx.env_id, "name": ctx.env_name},
        "tags": list(run.tags),
        "costInCents": run.cost_in_cents,
        "baseCostInCents": 0,
        "durationMs": run.duration_ms,
        "depth": 0,
        "taskKind": "STANDARD",
        "region": run.region,
        **statuses.boolean_helpers(status),
    }
    if run.started_at is not None:
        data["startedAt"] = iso(run.started_at)
    if run.completed_at is not None:
        data["finishedAt"] = iso(run.completed_at)
    if run.metadata:
        # Internal "$$streams*" keys never reach the API.
        data["metadata"] = {k: v for k, v in run.metadata.items() if not k.startswith("$$streams")}
    return data


def run_detail(ctx: Context, run: Run, api_version: str | None) -> dict[str, Any]:
    data = run_common(ctx, run, api_version)
    data.update(
        {
            "triggerFunction": "trigger",
            "payload": run.payload,
            "attemptCount": 1,
            "attempts": [],  # always empty in v4 (docs/trigger-v4.md, "Runs")
            "relatedRuns": {"children": []},
        }
    )
    if run.has_output and run.status == "COMPLETED_SUCCESSFULLY":
        data["output"] = run.output
    return data


def callback_url(ctx: Context, base_url: str, token: Token) -> str:
    digest = tokens.callback_hash(ctx.secret_key, token)
    return f"{base_url}/api/v1/waitpoints/tokens/{token.friendly_id}/callback/{digest}"


def token_list_item(ctx: Context, base_url: str, token: Token) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": token.friendly_id,
        "url": callback_url(ctx, base_url, token),
        "status": tokens.api_status(token),
        "tags": list(token.tags),
        "createdAt": iso(token.created_at),
    }
    if token.completed_at is not None:
        data["completedAt"] = iso(token.completed_at)
    if token.timeout_at is not None:
        data["timeoutAt"] = data["completedAfter"] = iso(token.timeout_at)
    if token.user_provided_key:
        data["idempotencyKey"] = token.idempotency_key
    if token.idempotency_key_expires_at is not None:
        data["idempotencyKeyExpiresAt"] = iso(token.idempotency_key_expires_at)
    return data


def token_detail(ctx: Context, base_url: str, token: Token) -> dict[str, Any]:
    data = token_list_item(ctx, base_url, token)
    data.update(
        {
            "type": "MANUAL",
            # The raw stored key: a random nanoid when the caller gave none (docs/trigger-v4.md,
            # "Waitpoint tokens").
            "idempotencyKey": token.idempotency_key,
            "userProvidedIdempotencyKey": token.user_provided_key,
            "outputType": token.output_type,
            "outputIsError": token.output_is_error,
        }
    )
    if token.inactive_idempotency_key is not None:
        data["inactiveIdempotencyKey"] = token.inactive_idempotency_key
    if token.output is not None:
        data["output"] = token.output
    return data
