"""HS256 JSON Web Tokens with the standard library, signed with the environment's secret key.

Create-token answers carry one in ``x-trigger-jwt`` (scope ``write:waitpoints:<id>``, 24 h); the
SDK uses it as the token's public access token (docs/trigger-v4.md, "Waitpoint tokens" and
"Realtime").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

ISSUER = "https://id.trigger.dev"
AUDIENCE = "https://api.trigger.dev"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: dict[str, Any], key: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{body}".encode("ascii")
    signature = hmac.new(key.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def verify(token: str, key: str, now: float) -> dict[str, Any] | None:
    """The claims of a valid, unexpired token signed with ``key``; otherwise None."""
    try:
        header, body, signature = token.split(".")
        expected = hmac.new(key.encode(), f"{header}.{body}".encode("ascii"), hashlib.sha256)
        if not hmac.compare_digest(_b64(expected.digest()), signature):
            return None
        claims = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(claims, dict):
        return None
    exp = claims.get("exp")
    if isinstance(exp, int | float) and exp < now:
        return None
    return claims


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")
