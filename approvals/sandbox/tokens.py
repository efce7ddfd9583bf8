"""Waitpoint token behaviour shared by the API handlers and the scenario (docs/trigger-v4.md,
"Waitpoint tokens")."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from approvals.sandbox.models import TOKEN_PENDING, Token, iso
from approvals.sandbox.world import World

TIMEOUT_CODE = "TRIGGER_WAITPOINT_TIMEOUT"


@dataclass(frozen=True)
class Created:
    token: Token
    is_cached: bool


def create_token(
    world: World,
    *,
    idempotency_key: str | None = None,
    idempotency_key_ttl: timedelta | None = None,
    timeout_at: datetime | None = None,
    tags: list[str] | None = None,
    created_at: datetime | None = None,
) -> Created:
    """Create a MANUAL waitpoint, or return the live one holding the same idempotency key."""
    with world.lock:
        now = world.clock.now()
        if idempotency_key is not None:
            existing = world.find_token_by_key(idempotency_key)
            if existing is not None:
                expires = existing.idempotency_key_expires_at
                if expires is None or expires > now:
                    return Created(existing, True)
                # An expired key is moved aside, so a new token can take it (docs/trigger-v4.md,
                # "Waitpoint tokens").
                world.update_token(
                    existing,
                    inactive_idempotency_key=existing.idempotency_key,
                    idempotency_key=world.random_key(),
                    user_provided_key=False,
                    idempotency_key_expires_at=None,
                )
        # A token exists from the moment it is stored, so it can never claim to be younger:
        # a createdAt after "now" would be later than the first moment anyone can see it.
        created = now if created_at is None else min(created_at, now)
        token = Token(
            id=world.new_id(),
            created_at=created,
            tags=list(tags or []),
            # Without a user key the server stores a random 24-char nanoid (docs/trigger-v4.md,
            # "Waitpoint tokens").
            idempotency_key=idempotency_key if idempotency_key is not None else world.random_key(),
            user_provided_key=idempotency_key is not None,
            idempotency_key_expires_at=(
                created + idempotency_key_ttl if idempotency_key_ttl is not None else None
            ),
            # A date in the past is ignored rather than timing the token out at once.
            timeout_at=timeout_at if timeout_at is not None and timeout_at > now else None,
        )
        world.add_token(token)
        return Created(token, False)


def encode_output(data: Any) -> tuple[str | None, str]:
    """How the complete endpoint stores ``data``: superjson for values, text/plain for strings."""
    if data is None:
        return None, "application/json"
    if isinstance(data, str):
        return data, "text/plain"
    return json.dumps({"json": data}, separators=(",", ":")), "application/super+json"


def decode_output(token: Token) -> Any:
    if token.output is None:
        return None
    if token.output_type == "text/plain":
        return token.output
    value = json.loads(token.output)
    if token.output_type == "application/super+json" and isinstance(value, dict):
        return value.get("json")
    return value


def complete(world: World, token: Token, data: Any) -> bool:
    output, output_type = encode_output(data)
    return world.complete_token(token, output=output, output_type=output_type, is_error=False)


def time_out(world: World, token: Token) -> bool:
    moment = token.timeout_at or world.clock.now()
    error = {"code": TIMEOUT_CODE, "message": f"Waitpoint timed out at {iso(moment)}"}
    return world.complete_token(
        token,
        output=json.dumps(error, separators=(",", ":")),
        output_type="application/json",
        is_error=True,
    )


def expire_due(world: World) -> list[Token]:
    """Time out every pending token whose timeoutAt has passed."""
    with world.lock:
        due = world.tokens_due(world.clock.now())
        return [token for token in due if time_out(world, token)]


def callback_hash(secret_key: str, token: Token) -> str:
    """hex HMAC-SHA256 of the internal id, keyed with the environment's API key
    (docs/trigger-v4.md, "Waitpoint tokens")."""
    return hmac.new(secret_key.encode(), token.id.encode(), hashlib.sha256).hexdigest()


def api_status(token: Token) -> str:
    if token.status == TOKEN_PENDING:
        return "WAITING"
    return "TIMED_OUT" if token.output_is_error else "COMPLETED"
