"""Bearer authentication as the real server classifies keys (docs/trigger-v4.md, "Authentication"
and "Errors, rate limits, retries")."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from approvals.sandbox import jwt_signing
from approvals.sandbox.context import Context
from approvals.sandbox.http import Request, Response, error, json_response


@dataclass(frozen=True)
class Caller:
    is_jwt: bool
    scopes: list[str] = field(default_factory=list)

    def allows(self, *scopes: str) -> bool:
        """A secret key may do anything; a public access token needs one of ``scopes``."""
        return not self.is_jwt or any(scope in self.scopes for scope in scopes)

    def can_read(self) -> bool:
        return not self.is_jwt or any(scope.startswith("read:") for scope in self.scopes)


def no_header() -> Response:
    # Sent by the rate-limit middleware, hence problem+json (docs/trigger-v4.md, "Errors, rate
    # limits, retries").
    message = "No authorization header provided"
    return json_response(
        {
            "title": "Unauthorized",
            "status": 401,
            "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/401",
            "detail": message,
            "error": message,
        },
        401,
        content_type="application/problem+json",
    )


def forbidden() -> Response:
    return error(
        403, "Unauthorized", code="unauthorized", param="access_token", type="authorization"
    )


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    return header.removeprefix("Bearer ").strip()


def authenticate(ctx: Context, request: Request, *, allow_jwt: bool) -> Caller | Response:
    token = bearer(request)
    if token is None:
        return no_header()
    if token.startswith("pk_"):
        # Legacy public keys are accepted by none of the routes the sandbox serves.
        return forbidden()
    if jwt_signing.looks_like_jwt(token):
        claims = jwt_signing.verify(token, ctx.secret_key, ctx.clock.time())
        if not allow_jwt or claims is None or claims.get("pub") is not True:
            return error(401, "Invalid Public Access Token")
        scopes = claims.get("scopes")
        return Caller(
            True, [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else []
        )
    if not hmac.compare_digest(token.encode(), ctx.secret_key.encode()):
        return error(401, "Invalid API Key")
    return Caller(False)
