"""Signing in through the OpenID provider, and signing out of both (docs/sso.md).

``/oidc/authenticate/`` sends the visitor to the provider with a fresh state, nonce and PKCE
verifier kept in their session, and the page they asked for; ``/oidc/callback/`` checks what
comes back, signs the person in and returns them to that page. Every way a callback can fail
ends on a page saying what happened and offering to try again, never on a 500: a forged,
replayed or expired state, an ID token whose nonce is not the one sent, a provider that is
down or refuses. Failed callbacks count towards the sign-in throttle (approvals.throttling).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.signals import user_login_failed
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from joserfc.errors import JoseError

from approvals.auth import oidc_client
from approvals.auth.accounts import (
    SSO_BACKEND,
    Identity,
    SignInRefused,
    account_for,
    groups_from_claim,
)
from approvals.throttling import OIDC_CALLBACK_PREFIX, lockout_response

logger = logging.getLogger(__name__)

# Session keys: the ID token, sent back as a hint when signing out of the provider.
ID_TOKEN_KEY = "approvals:oidc-id-token"
STATE_PREFIX = f"_state_{oidc_client.CLIENT_NAME}_"
# Token-endpoint errors that mean the dashboard's client registration or settings are wrong
# (RFC 6749, section 5.2), rather than anything about the person signing in.
CLIENT_CONFIGURATION_ERRORS = {"invalid_client", "unauthorized_client", "unsupported_grant_type"}


class CallbackFailed(Exception):
    """A callback refused; ``message`` is for the person signing in, ``status`` the answer's."""

    def __init__(self, message: str, *, status: int = 400, counts: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.counts = counts  # towards the sign-in throttle


def _oidc_only() -> None:
    if not settings.SSO_OIDC:
        raise Http404("Single sign-on is not configured")


def safe_next(request: HttpRequest, value: str | None) -> str:
    """``value`` when it is a path on this site, else the queue."""
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return reverse("home")


def problem_page(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    """The branded page for a sign-in that did not work, with a way to try again."""
    return render(
        request,
        "registration/sso_problem.html",
        {"message": message, "retry_url": reverse("oidc_authenticate")},
        status=status,
    )


@never_cache
@require_GET
def authenticate(request: HttpRequest) -> HttpResponse:
    _oidc_only()
    next_url = safe_next(request, request.GET.get("next"))
    if request.user.is_authenticated:
        return HttpResponseRedirect(next_url)
    try:
        oidc_client.metadata()
        app = oidc_client.client()
        redirect_uri = request.build_absolute_uri(reverse("oidc_callback"))
        found = app.create_authorization_url(redirect_uri)
    except oidc_client.ProviderUnavailable as exc:
        logger.error("OIDC sign-in could not start: %s", exc.message)
        return problem_page(
            request,
            "The sign-in provider cannot be reached just now, so nobody can sign in. "
            "Try again in a minute; if it persists, tell whoever runs this dashboard.",
            status=502,
        )
    # Authlib keeps the state's data in the session: the PKCE verifier, the nonce and the
    # redirect URI; the page to return to and the time travel with them.
    app.save_authorize_data(
        request, redirect_uri=redirect_uri, next=next_url, started=time.time(), **found
    )
    return HttpResponseRedirect(found["url"])


def _state_data(request: HttpRequest, state: str) -> dict[str, Any]:
    if not state:
        raise CallbackFailed(
            "The answer from the sign-in provider had no state: it was not started here."
        )
    entry = request.session.get(STATE_PREFIX + state)
    data = entry.get("data") if isinstance(entry, dict) else None
    if not isinstance(data, dict):
        raise CallbackFailed(
            "This sign-in answer is not one this browser started, or it was already used. "
            "Sign in again from the start."
        )
    started = data.get("started")
    if (
        not isinstance(started, int | float)
        or time.time() - started > settings.OIDC_STATE_MAX_AGE_SECONDS
    ):
        request.session.pop(STATE_PREFIX + state, None)
        raise CallbackFailed("This sign-in took too long and has expired. Sign in again.")
    return data


def _claims(app: Any, token: dict[str, Any]) -> dict[str, Any]:
    """The ID token's claims, with the userinfo endpoint's where the provider has one: many
    providers put the profile and groups only there when an access token is issued."""
    claims = dict(token.get("userinfo") or {})
    if not claims:
        raise CallbackFailed("The sign-in provider sent no ID token.")
    if oidc_client.metadata().get("userinfo_endpoint"):
        extra = dict(app.userinfo(token=token))
        if extra.get("sub") != claims.get("sub"):
            raise CallbackFailed("The provider's user information is for someone else.")
        claims = {**extra, **claims}
    return claims


def identity_from_claims(claims: dict[str, Any]) -> Identity:
    username = claims.get(settings.OIDC_USERNAME_CLAIM)
    if not isinstance(username, str):
        raise SignInRefused(
            f"Your sign-in provider did not say who you are (no “{settings.OIDC_USERNAME_CLAIM}”"
            " claim). Tell whoever runs this dashboard."
        )
    given, family = claims.get("given_name"), claims.get("family_name")
    if not isinstance(given, str) and isinstance(claims.get("name"), str):
        given, _, family = claims["name"].partition(" ")
    email = claims.get("email")
    return Identity(
        # Without a trailing slash: "…/realms/corp" and "…/realms/corp/" are one provider,
        # and editing the setting must not orphan everyone's account link.
        source=oidc_client.config().issuer.rstrip("/"),
        subject=str(claims["sub"]),
        username=username.strip(),
        email=email if isinstance(email, str) else "",
        first_name=given if isinstance(given, str) else "",
        last_name=family if isinstance(family, str) else "",
        groups=groups_from_claim(claims.get(settings.OIDC_GROUPS_CLAIM)),
    )


def _throttle_credentials(request: HttpRequest) -> dict[str, str]:
    # One pseudo-account per address: failures lock the callback for the address that made
    # them, never for everyone, and only callback failures count (approvals.throttling).
    return {"username": f"{OIDC_CALLBACK_PREFIX}{get_client_ip_address(request)}"}


@never_cache
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    _oidc_only()
    credentials = _throttle_credentials(request)
    if AxesProxyHandler.is_locked(request, credentials):
        return lockout_response(request)
    try:
        user, next_url, id_token = _complete(request)
    except CallbackFailed as exc:
        if exc.counts:
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        logger.warning("OIDC callback refused: %s", exc.message)
        return problem_page(request, exc.message, status=exc.status)
    except SignInRefused as exc:
        logger.warning("OIDC sign-in refused: %s", exc.message)
        return problem_page(request, exc.message, status=403)
    login(request, user, backend=SSO_BACKEND)
    request.session[ID_TOKEN_KEY] = id_token
    # A fixed end, not a sliding one: rights the provider takes away apply by then.
    request.session.set_expiry(timezone.now() + timedelta(minutes=settings.OIDC_SESSION_MINUTES))
    return HttpResponseRedirect(next_url)


def _complete(request: HttpRequest) -> tuple[Any, str, str]:
    error = request.GET.get("error")
    state = request.GET.get("state", "")
    if error:
        request.session.pop(STATE_PREFIX + state, None)
        described = request.GET.get("error_description") or error
        raise CallbackFailed(
            f"The sign-in provider did not sign you in: {described[:300]}", status=403, counts=False
        )
    data = _state_data(request, state)
    app = oidc_client.client()
    try:
        # Checks the state again, sends the code with the PKCE verifier, and validates the ID
        # token: signature, issuer, audience, expiry and the nonce kept with the state.
        token = app.authorize_access_token(request)
        claims = _claims(app, token)
    except OAuthError as exc:
        if exc.error in CLIENT_CONFIGURATION_ERRORS:
            # Our side, not the visitor's: no use counting it against their address.
            logger.error(
                "OIDC: the provider refused this dashboard's client credentials (%s): check "
                "OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_TOKEN_AUTH_METHOD",
                exc.error,
            )
            raise CallbackFailed(
                "Signing in is misconfigured on this dashboard's side: the sign-in provider "
                "refused its credentials. Tell whoever runs this dashboard.",
                status=502,
                counts=False,
            ) from None
        raise CallbackFailed(
            "The sign-in provider's answer did not check out "
            f"({_describe(exc)}). Sign in again from the start."
        ) from None
    except JoseError as exc:
        raise CallbackFailed(
            "The sign-in provider's answer did not check out "
            f"({_describe(exc)}). Sign in again from the start."
        ) from None
    except (requests.RequestException, oidc_client.ProviderUnavailable):
        raise CallbackFailed(
            "The sign-in provider stopped answering while signing you in. Try again in a minute.",
            status=502,
            counts=False,
        ) from None
    return (
        account_for(identity_from_claims(claims)),
        str(data.get("next") or "/"),
        str(token.get("id_token", "")),
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, JoseError):
        claim = getattr(exc, "claim", None) or str(exc)
        return f"the ID token's {claim} is not valid" if claim else "the ID token is not valid"
    error = getattr(exc, "error", None) or "error"
    return f"{error}"


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """Ends this session (which closes the user's live sockets, approvals.live.signals) and,
    where the provider offers an end-session endpoint (or the proxy a sign-out address,
    AUTH_PROXY_SIGN_OUT_URL), the provider's session too: otherwise the next visit would sign
    straight back in."""
    id_token = request.session.get(ID_TOKEN_KEY)
    logout(request)
    if not settings.SSO_ENABLED:
        return redirect(settings.LOGOUT_REDIRECT_URL)
    signed_out = request.build_absolute_uri(reverse("signed_out"))
    if settings.SSO_OIDC:
        try:
            end_session = oidc_client.metadata().get("end_session_endpoint")
        except oidc_client.ProviderUnavailable:
            end_session = None
        if end_session:
            app = oidc_client.client()
            found = app.create_logout_url(
                post_logout_redirect_uri=signed_out,
                id_token_hint=id_token or None,
                client_id=oidc_client.config().client_id,
            )
            return HttpResponseRedirect(found["url"])
    if settings.SSO_PROXY and settings.AUTH_PROXY_SIGN_OUT_URL:
        return HttpResponseRedirect(settings.AUTH_PROXY_SIGN_OUT_URL)
    return HttpResponseRedirect(signed_out)


@never_cache
def signed_out(request: HttpRequest) -> HttpResponse:
    """Where signing out ends: public, so it does not send the visitor straight back to the
    provider."""
    return render(
        request,
        "registration/signed_out.html",
        {"sign_in_url": reverse(settings.LOGIN_URL), "sso_oidc": settings.SSO_OIDC},
    )
