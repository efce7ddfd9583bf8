"""``/_sandbox/*``: JSON controls for tests and demos (no auth, never rate limited)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from approvals.sandbox.config import ConfigError
from approvals.sandbox.context import Context
from approvals.sandbox.durations import parse_duration, parse_iso
from approvals.sandbox.faults import FaultError
from approvals.sandbox.http import AnyResponse, Request, error, json_response
from approvals.sandbox.models import iso
from approvals.sandbox.scenario import ApprovalRequest
from approvals.sandbox.tokens import api_status


def _object_body(request: Request) -> dict[str, Any] | AnyResponse:
    if not request.body.strip():
        return {}
    try:
        body = request.json()
    except ValueError:
        return error(400, "Body must be JSON")
    except RecursionError:  # Python's decoder gives up a thousand levels down
        return error(400, "Body is nested too deeply")
    if not isinstance(body, dict):
        return error(400, "Body must be a JSON object")
    return body


async def start_run(ctx: Context, request: Request) -> AnyResponse:
    body = _object_body(request)
    if not isinstance(body, dict):
        return body
    task = body.get("task", "approve-request")
    description = body.get("description", f"Approve {task}")
    if not isinstance(task, str) or not task:
        return error(400, "task must be a non-empty string")
    if not isinstance(description, str):
        return error(400, "description must be a string")
    raw_timeout = body.get("timeout", "24h")
    timeout: timedelta | Any
    if raw_timeout is None:
        timeout = None
    elif isinstance(raw_timeout, int | float) and not isinstance(raw_timeout, bool):
        timeout = timedelta(seconds=raw_timeout)
    elif isinstance(raw_timeout, str):
        timeout = parse_duration(raw_timeout) or parse_iso(raw_timeout)
        if timeout is None:
            return error(400, "timeout must be seconds, a duration like 10m or an ISO date")
    else:
        return error(400, "timeout must be seconds, a duration like 10m or an ISO date")
    tags = body.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        return error(400, "tags must be a list of strings")
    requested_by = body.get("requestedBy")
    if requested_by is not None and not isinstance(requested_by, str):
        return error(400, "requestedBy must be a string")
    summary = body.get("summary")
    if summary is not None and not isinstance(summary, str):
        return error(400, "summary must be a string (Markdown)")
    for name in ("schema", "context"):
        if body.get(name) is not None and not isinstance(body[name], dict):
            return error(400, f"{name} must be an object")
    run, token = ctx.scenario.start_approval(
        ApprovalRequest(
            task=task,
            payload=body.get("payload", {}),
            description=description,
            timeout=timeout,
            requested_by=requested_by,
            tags=tags,
            schema=body.get("schema"),
            context=body.get("context"),
            summary=summary,
        )
    )
    return json_response({"runId": run.friendly_id, "tokenId": token.friendly_id})


async def inspect_run(ctx: Context, request: Request) -> AnyResponse:
    world = ctx.world
    with world.lock:
        run = world.find_run(request.params["runId"])
        if run is None:
            return error(404, "Not found")
        token = world.tokens.get(run.waiting_on_token) if run.waiting_on_token else None
        return json_response(
            {
                "id": run.friendly_id,
                "status": run.status,  # the raw DB status
                "taskIdentifier": run.task_identifier,
                "tags": run.tags,
                "metadata": run.metadata,
                "payload": run.payload,
                "output": run.output,
                "createdAt": iso(run.created_at),
                "updatedAt": iso(run.updated_at),
                "completedAt": iso(run.completed_at) if run.completed_at else None,
                "waitingOnToken": token.friendly_id if token else None,
                "waitingOnTokenStatus": api_status(token) if token else None,
            }
        )


async def append_stream(ctx: Context, request: Request) -> AnyResponse:
    """Appends one chunk (the JSON body) to a run's stream, as a task's ``streams.append`` would."""
    run = ctx.world.find_run(request.params["runId"])
    if run is None:
        return error(404, "Not found")
    if not request.body.strip():
        return error(400, "Body must be a JSON chunk")
    try:
        chunk = request.json()
    except ValueError:
        return error(400, "Body must be JSON")
    record = ctx.world.append_stream(run.id, request.params["streamKey"], chunk)
    return json_response({"seq": record.seq, "chunkId": record.chunk_id})


async def set_faults(ctx: Context, request: Request) -> AnyResponse:
    body = _object_body(request)
    if not isinstance(body, dict):
        return body
    try:
        ctx.faults.update(body)
    except FaultError as problem:
        return error(400, str(problem))
    return json_response(ctx.faults.snapshot())


async def get_faults(ctx: Context, request: Request) -> AnyResponse:
    return json_response(ctx.faults.snapshot())


async def set_config(ctx: Context, request: Request) -> AnyResponse:
    body = _object_body(request)
    if not isinstance(body, dict):
        return body
    try:
        ctx.config.update(body)
    except ConfigError as problem:
        return error(400, str(problem))
    return json_response(ctx.config.snapshot())


async def get_config(ctx: Context, request: Request) -> AnyResponse:
    return json_response(ctx.config.snapshot())


def _clock_state(ctx: Context) -> dict[str, Any]:
    return {"now": iso(ctx.clock.now()), "frozen": ctx.clock.frozen}


async def set_clock(ctx: Context, request: Request) -> AnyResponse:
    body = _object_body(request)
    if not isinstance(body, dict):
        return body
    unknown = set(body) - {"advanceSeconds", "frozen"}
    if unknown:
        return error(400, f"Unknown clock setting(s): {', '.join(sorted(unknown))}")
    advance = body.get("advanceSeconds", 0)
    frozen = body.get("frozen")
    if isinstance(advance, bool) or not isinstance(advance, int | float) or advance < 0:
        return error(400, "advanceSeconds must be a number >= 0")
    if frozen is not None and not isinstance(frozen, bool):
        return error(400, "frozen must be true or false")
    if frozen is not None:
        ctx.clock.freeze(frozen)
    if advance:
        ctx.clock.advance(advance)
    ctx.scenario.tick()  # timeouts and resumes react at once
    return json_response(_clock_state(ctx))


async def get_clock(ctx: Context, request: Request) -> AnyResponse:
    return json_response(_clock_state(ctx))


async def get_stats(ctx: Context, request: Request) -> AnyResponse:
    return json_response(ctx.stats.snapshot())


async def reset(ctx: Context, request: Request) -> AnyResponse:
    ctx.stats.reset()
    ctx.faults.reset()
    ctx.config.reset()
    ctx.clock.reset()
    ctx.scenario.reset()
    return json_response({"ok": True})


async def reset_handles(ctx: Context, request: Request) -> AnyResponse:
    ctx.world.reset_handles()
    return json_response({"ok": True})
