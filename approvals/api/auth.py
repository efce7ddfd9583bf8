"""Who is calling the JSON API: a bearer API token, or the browser session.

``Authorization: Bearer apr_…`` is looked up by its SHA-256 hash (the raw token is never
stored) and compared in constant time; revoked tokens and inactive users are refused. Such
requests carry no cookies worth forging, so they are exempt from CSRF. A request without that
header falls back to the session, and then CSRF applies exactly as for a form post.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone

from approvals.auth.demo import DemoAwareModelBackend
from approvals.models import ApiToken, hash_api_token

# Write last_used_at at most this often per token, so reads do not all become writes.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class Unauthenticated(Exception):
    """401: no credentials, or credentials that do not identify an active user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsrfRefused(Exception):
    """403: a session-authenticated unsafe request without a valid CSRF token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.message = f"CSRF check failed: {reason}."


@dataclass(frozen=True)
class Caller:
    user: Any
    via: str  # "token" or "session"
    token: ApiToken | None = None


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request: HttpRequest, reason: str) -> Any:
        return reason


def _no_response(request: HttpRequest) -> HttpResponse:
    return HttpResponse()  # never called: only the middleware's checks are used


def _bearer(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthenticated("Use an 'Authorization: Bearer <API token>' header.")
    return credentials.strip()


def active_token(raw: str) -> ApiToken:
    """The active token for ``raw``, or ``Unauthenticated``."""
    digest = hash_api_token(raw)
    token = ApiToken.objects.select_related("user").filter(token_hash=digest).first()
    # The lookup is by hash, so timing says nothing about the raw token; compare anyway.
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        raise Unauthenticated("Invalid API token.")
    if not token.is_active:
        raise Unauthenticated("This API token has been revoked.")
    # The same rule as signing in (inactive users; the demo reviewer outside sandbox mode).
    if not DemoAwareModelBackend().user_can_authenticate(token.user):
        raise Unauthenticated("This API token's user is inactive.")
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


class Throttled(Exception):
    """429: too many failed token attempts from this address (django-axes' lockout)."""

    message = "Too many failed API token attempts from this address; try again later."


# Failed bearer tokens are recorded as failed sign-ins for django-axes, under a pseudo
# username per token prefix: the address is locked after LOGIN_FAILURE_LIMIT failures, as for
# passwords, without one client being able to lock the API for everyone (docs/hardening.md).
def _token_credentials(raw: str) -> dict[str, str]:
    return {"username": f"api-token:{raw[:10]}"}


def _token_failed(request: HttpRequest, raw: str) -> None:
    user_login_failed.send(sender=__name__, credentials=_token_credentials(raw), request=request)


def authenticate(request: HttpRequest) -> Caller:
    """The caller of an API request, or ``Unauthenticated`` / ``CsrfRefused`` / ``Throttled``."""
    raw = _bearer(request)
    if raw is not None:
        if AxesProxyHandler.is_locked(request, _token_credentials(raw)):
            raise Throttled()
        try:
            token = active_token(raw)
        except Unauthenticated:
            _token_failed(request, raw)
            raise
        return Caller(user=token.user, via="token", token=token)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise Unauthenticated("Authentication required: send an API token as a bearer token.")
    if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
        check = _CsrfCheck(_no_response)
        check.process_request(request)
        reason = check.process_view(request, _no_response, (), {})
        if reason is not None:
            raise CsrfRefused(str(reason))
    return Caller(user=user, via="session")
