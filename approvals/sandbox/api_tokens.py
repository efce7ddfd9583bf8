"""Waitpoint token routes: create, list, retrieve, complete and the callback URL
(docs/trigger-v4.md, "Waitpoint tokens")."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from approvals.sandbox import jwt_signing, presenters, tokens
from approvals.sandbox.auth import forbidden
from approvals.sandbox.context import Context
from approvals.sandbox.durations import parse_duration, parse_iso
from approvals.sandbox.http import AnyResponse, Request, error, json_response
from approvals.sandbox.models import TOKEN_COMPLETED, TOKEN_PENDING, Token
from approvals.sandbox.paging import (
    Page,
    QueryError,
    comma_list,
    created_window,
    paginate,
    read_page,
)

CREATE_MAX_BYTES = 10 * 1024
COMPLETE_MAX_BYTES = 3 * 1024 * 1024  # TASK_PAYLOAD_MAXIMUM_SIZE
TOKEN_STATUSES = ("WAITING", "COMPLETED", "TIMED_OUT")
JWT_LIFETIME_SECONDS = 24 * 3600


def _read_body(request: Request, limit: int) -> tuple[Any, None] | tuple[None, AnyResponse]:
    """The action builder's body checks, in its order: size, emptiness, JSON."""
    length = request.headers.get("content-length")
    if length is None or not length.isdigit() or int(length) > limit or len(request.body) > limit:
        return None, error(413, "Request body too large")
    if not request.body.strip():
        return None, error(400, "Request body is empty")
    try:
        return request.json(), None
    except ValueError:
        return None, error(400, "Invalid JSON")


async def create(ctx: Context, request: Request) -> AnyResponse:
    body, problem = _read_body(request, CREATE_MAX_BYTES)
    if problem is not None:
        return problem
    if not isinstance(body, dict):
        return error(400, "Expected object, received " + type(body).__name__)

    key = body.get("idempotencyKey")
    if key is not None and (not isinstance(key, str) or len(key) > 2048):
        return error(422, "idempotencyKey must be a string of at most 2048 characters")
    ttl_raw = body.get("idempotencyKeyTTL")
    ttl = None
    if ttl_raw is not None:
        ttl = parse_duration(ttl_raw) if isinstance(ttl_raw, str) else None
        if ttl is None or not str(ttl_raw)[:-1].isdigit():
            return error(422, "idempotencyKeyTTL must look like 30s, 10m, 2h or 3d")

    timeout_raw = body.get("timeout")
    timeout_at = None
    if timeout_raw is not None:
        if not isinstance(timeout_raw, str):
            return error(422, "timeout must be a duration such as 10m or an ISO date")
        duration = parse_duration(timeout_raw)
        if duration is not None:
            timeout_at = ctx.clock.now() + duration
        else:
            timeout_at = parse_iso(timeout_raw)
            if timeout_at is None:
                return error(422, f"Invalid timeout: {timeout_raw}")

    raw_tags = body.get("tags", [])
    tags = [raw_tags] if isinstance(raw_tags, str) else raw_tags
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        return error(422, "tags must be a string or an array of strings")
    if len(tags) > 10:
        return error(422, f"Waitpoints can only have 10 tags, you're trying to set {len(tags)}.")
    if any(len(tag) >= 128 for tag in tags):
        return error(422, "Each tag must be shorter than 128 characters")

    created = tokens.create_token(
        ctx.world,
        idempotency_key=key,
        idempotency_key_ttl=ttl if isinstance(ttl, timedelta) else None,
        timeout_at=timeout_at,
        tags=tags,
    )
    token = created.token
    now = int(ctx.clock.time())
    claims = {
        "sub": ctx.env_id,
        "pub": True,
        "scopes": [f"write:waitpoints:{token.friendly_id}"],
        "iat": now,
        "exp": now + JWT_LIFETIME_SECONDS,
        "iss": jwt_signing.ISSUER,
        "aud": jwt_signing.AUDIENCE,
    }
    headers = [
        ("x-trigger-jwt", jwt_signing.sign(claims, ctx.secret_key)),
        (
            "x-trigger-jwt-claims",
            json.dumps({"sub": ctx.env_id, "pub": True}, separators=(",", ":")),
        ),
    ]
    data = {
        "id": token.friendly_id,
        "isCached": created.is_cached,
        "url": presenters.callback_url(ctx, request.base_url, token),
    }
    return json_response(data, 200, headers)


@dataclass(frozen=True)
class TokenQuery:
    """The list's filters: ``keep`` decides for one token; statuses (API ones), tags and the
    idempotency key say which indexes to walk (they are checked by ``keep`` too)."""

    statuses: set[str] | None
    tags: list[str] | None
    key: str | None
    keep: Callable[[Token], bool]


def read_token_query(ctx: Context, query: dict[str, str]) -> TokenQuery:
    wanted = comma_list(query, "filter[status]")
    if wanted is not None:
        invalid = [status for status in wanted if status not in TOKEN_STATUSES]
        if invalid:
            raise QueryError("filter[status]", f"Invalid enum value. Received '{invalid[0]}'")
    db_statuses = (
        None
        if wanted is None
        else {TOKEN_PENDING if status == "WAITING" else TOKEN_COMPLETED for status in wanted}
    )
    # The quirk (docs/trigger-v4.md, "Waitpoint tokens"): only a *single* COMPLETED or TIMED_OUT
    # filter checks outputIsError.
    output_is_error = None
    if wanted is not None and len(wanted) == 1 and wanted[0] != "WAITING":
        output_is_error = wanted[0] == "TIMED_OUT"
    key = query.get("filter[idempotencyKey]")
    tags = comma_list(query, "filter[tags]")
    start, end = created_window(query, ctx.clock.now(), None)  # no default window for tokens

    def keep(token: Token) -> bool:
        return not (
            (db_statuses is not None and token.status not in db_statuses)
            or (output_is_error is not None and token.output_is_error != output_is_error)
            or (
                key is not None
                and key not in (token.idempotency_key, token.inactive_idempotency_key)
            )
            or (tags is not None and not set(tags) & set(token.tags))  # ANY (hasSome)
            or (start is not None and token.created_at < start)
            or (end is not None and token.created_at > end)
        )

    # The indexes hold API statuses; a stored COMPLETED is either of the last two. (createdAt
    # may be back-dated, so it does not follow the ids' order and bounds no walk.)
    index_statuses = (
        None
        if db_statuses is None
        else {
            api
            for db in db_statuses
            for api in (("WAITING",) if db == TOKEN_PENDING else ("COMPLETED", "TIMED_OUT"))
        }
    )
    return TokenQuery(index_statuses, tags, key, keep)


def page_of_tokens(
    ctx: Context, wanted: TokenQuery, page: Page
) -> tuple[list[Token], dict[str, Any]]:
    """The page, newest first (by id), walking the indexes from the cursor and stopping once
    the page is full. Call with the world's lock held."""
    world = ctx.world

    def load(token_id: str) -> Token | None:
        world.examined += 1
        token = world.tokens[token_id]
        return token if wanted.keep(token) else None

    return paginate(
        world.token_sources(wanted.statuses, wanted.tags, wanted.key),
        page,
        load,
        encode=lambda token_id: token_id,  # the cursor is the bare internal id
        decode=lambda cursor: cursor.removeprefix("waitpoint_"),
    )


async def list_tokens(ctx: Context, request: Request) -> AnyResponse:
    try:
        page = read_page(request.query)
        wanted = read_token_query(ctx, request.query)
        with ctx.world.lock:
            chosen, pagination = page_of_tokens(ctx, wanted, page)
            data = [presenters.token_list_item(ctx, request.base_url, token) for token in chosen]
    except QueryError as problem:
        return problem.response()
    return json_response({"data": data, "pagination": pagination})


async def retrieve(ctx: Context, request: Request) -> AnyResponse:
    token = ctx.world.find_token(request.params["waitpointId"])
    if token is None:
        # The presenter's ServiceValidationError becomes a 500 in loader routes
        # (docs/trigger-v4.md, "Waitpoint tokens").
        return error(500, "Internal Server Error")
    with ctx.world.lock:
        return json_response(presenters.token_detail(ctx, request.base_url, token))


async def complete(ctx: Context, request: Request) -> AnyResponse:
    token = ctx.world.find_token(request.params["waitpointId"])
    if token is None:
        return error(404, "Waitpoint not found")
    if not request.caller.allows("write:waitpoints", f"write:waitpoints:{token.friendly_id}"):
        return forbidden()
    body, problem = _read_body(request, COMPLETE_MAX_BYTES)
    if problem is not None:
        return problem
    if not isinstance(body, dict):
        return error(400, "Expected object, received " + type(body).__name__)
    # Completing twice, or after a timeout, answers success and changes nothing
    # (docs/trigger-v4.md, "Waitpoint tokens").
    tokens.complete(ctx.world, token, body.get("data"))
    ctx.scenario.tick()
    return json_response({"success": True})


async def callback(ctx: Context, request: Request) -> AnyResponse:
    token = ctx.world.find_token(request.params["waitpointId"])
    if token is None:
        return error(404, "Waitpoint not found")
    expected = tokens.callback_hash(ctx.secret_key, token)
    if not hmac.compare_digest(expected, request.params["hash"]):
        return error(401, "Invalid URL, hash doesn't match")
    length = request.headers.get("content-length")
    if length is None:
        return error(411, "Content-Length header is required")
    if len(request.body) > COMPLETE_MAX_BYTES:
        return error(413, "Request body too large")
    # The whole body is the output; a body that is not JSON becomes {} (docs/trigger-v4.md,
    # "Waitpoint tokens").
    try:
        data = json.loads(request.body)
    except ValueError:
        data = {}
    tokens.complete(ctx.world, token, data)
    ctx.scenario.tick()
    return json_response({"success": True})
