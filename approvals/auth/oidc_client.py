"""The OpenID provider, as Authlib's Django client sees it (docs/sso.md).

Authlib does the protocol: the authorization-code flow with PKCE (S256), the state and the
nonce, reading the provider's discovery document, and checking the ID token (signature against
the provider's keys, issuer, audience, expiry, nonce). It fetches the key set again when a
token names a key id it has not seen, so a provider rotating its keys needs no restart. What
this module adds: the configuration from settings, checked; the discovery document cached for
a bounded time (a provider moving an endpoint is picked up within the hour); and the problems
in words an operator can act on (system checks approvals.E010 and E011, approvals.auth.checks).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings

# How long the discovery document (and with it the key set) is trusted before being read
# again. Keys are also refetched at once when an ID token names an unknown key id.
METADATA_MAX_AGE_SECONDS = 3600.0
DISCOVERY_PATH = "/.well-known/openid-configuration"
# What a usable discovery document must name (OpenID Connect Discovery 1.0, section 3).
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
CLIENT_NAME = "oidc"


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered something unusable; ``message`` says
    what, without secrets."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def issuer_problem(issuer: str) -> str | None:
    """Why ``issuer`` cannot be an OIDC issuer here, or ``None``. Plain ``http://`` is allowed
    only on loopback (a provider in a test or on a developer's machine): elsewhere the
    provider's answers, keys included, would travel unprotected."""
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return (
            "OIDC_ISSUER must be an http(s) URL such as https://login.example.com/realms/x,"
            f" not {issuer!r}"
        )
    if parts.query or parts.fragment:
        return "OIDC_ISSUER must not have a query or a fragment"
    if parts.path.rstrip("/").endswith(DISCOVERY_PATH):
        return (
            "OIDC_ISSUER is the issuer, not its discovery document: drop "
            f"{DISCOVERY_PATH} from {issuer!r}"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return (
            "OIDC_ISSUER must use https:// (plain http:// is accepted only on loopback, "
            f"for tests): {issuer!r}"
        )
    return None


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    token_auth_method: str
    timeout: float

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + DISCOVERY_PATH


def configuration_problems() -> list[str]:
    """What is wrong with the OIDC settings, in words (empty when OIDC is off or fine)."""
    if not settings.SSO_OIDC:
        return []
    problems: list[str] = []
    problem = issuer_problem(settings.OIDC_ISSUER or "")
    if problem:
        problems.append(problem)
    if not settings.OIDC_CLIENT_ID:
        problems.append("OIDC_ISSUER is set but OIDC_CLIENT_ID is not")
    if not settings.OIDC_CLIENT_SECRET:
        problems.append("OIDC_ISSUER is set but OIDC_CLIENT_SECRET is not")
    if "openid" not in settings.OIDC_SCOPES.split():
        problems.append(f"OIDC_SCOPES must include 'openid', not {settings.OIDC_SCOPES!r}")
    if settings.OIDC_TOKEN_AUTH_METHOD not in ("client_secret_post", "client_secret_basic"):
        problems.append(
            "OIDC_TOKEN_AUTH_METHOD must be client_secret_post or client_secret_basic, "
            f"not {settings.OIDC_TOKEN_AUTH_METHOD!r}"
        )
    if not settings.OIDC_USERNAME_CLAIM:
        problems.append("OIDC_USERNAME_CLAIM must name a claim")
    return problems


def config() -> OidcConfig:
    return OidcConfig(
        issuer=settings.OIDC_ISSUER or "",
        client_id=settings.OIDC_CLIENT_ID or "",
        client_secret=settings.OIDC_CLIENT_SECRET or "",
        scopes=settings.OIDC_SCOPES,
        token_auth_method=settings.OIDC_TOKEN_AUTH_METHOD,
        timeout=settings.OIDC_TIMEOUT_SECONDS,
    )


_lock = threading.Lock()
_client: tuple[OidcConfig, DjangoOAuth2App] | None = None


def _build(cfg: OidcConfig) -> DjangoOAuth2App:
    oauth = OAuth()
    oauth.register(
        name=CLIENT_NAME,
        client_id=cfg.client_id,
        client_secret=cfg.client_secret,
        server_metadata_url=cfg.discovery_url,
        client_kwargs={
            "scope": cfg.scopes,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": cfg.token_auth_method,
            # requests waits forever by default: a provider that stops answering would hold
            # a server thread per person signing in.
            "default_timeout": cfg.timeout,
        },
    )
    client: DjangoOAuth2App = oauth.create_client(CLIENT_NAME)
    # A state kept in the session is good for this long; Authlib's own default is an hour.
    client.framework.expires_in = settings.OIDC_STATE_MAX_AGE_SECONDS
    return client


def client() -> DjangoOAuth2App:
    """The process's client for the configured provider (rebuilt when settings change, as
    tests do), with a discovery document no older than METADATA_MAX_AGE_SECONDS."""
    global _client
    cfg = config()
    with _lock:
        if _client is None or _client[0] != cfg:
            _client = (cfg, _build(cfg))
        app = _client[1]
        loaded_at = app.server_metadata.get("_loaded_at")
        if loaded_at is not None and time.time() - loaded_at > METADATA_MAX_AGE_SECONDS:
            app.server_metadata.clear()  # read again (with the keys) on next use
    return app


# After the provider failed to answer, say so at once for this long rather than make every
# visitor wait out the timeout again (a sign-in page per visitor while it is down).
FAILURE_MEMORY_SECONDS = 15.0
_last_failure: tuple[str, float, str] | None = None  # (discovery URL, when, message)


def metadata() -> dict[str, Any]:
    """The provider's discovery document (cached), or ``ProviderUnavailable``."""
    global _last_failure
    app = client()
    if "_loaded_at" not in app.server_metadata and _last_failure is not None:
        url, failed_at, message = _last_failure
        if url == config().discovery_url and time.monotonic() - failed_at < FAILURE_MEMORY_SECONDS:
            raise ProviderUnavailable(message)
    try:
        data: dict[str, Any] = app.load_server_metadata()
    except requests.RequestException as exc:
        message = (
            f"the OpenID provider's discovery document at {config().discovery_url} could not be "
            f"read ({_short(exc)})"
        )
        _last_failure = (config().discovery_url, time.monotonic(), message)
        raise ProviderUnavailable(message) from None
    except ValueError:
        app.server_metadata.clear()
        raise ProviderUnavailable(
            f"the OpenID provider's discovery document at {config().discovery_url} is not JSON"
        ) from None
    missing = [key for key in REQUIRED_METADATA if not data.get(key)]
    if missing:
        app.server_metadata.clear()
        raise ProviderUnavailable(
            f"the OpenID provider's discovery document at {config().discovery_url} lacks "
            + ", ".join(missing)
        )
    named = str(data["issuer"])
    if named.rstrip("/") != config().issuer.rstrip("/"):
        app.server_metadata.clear()  # (the same dict as ``data``)
        raise ProviderUnavailable(
            f"the discovery document names the issuer {named!r}, not OIDC_ISSUER "
            f"{config().issuer!r} (ID tokens would be refused)"
        )
    return data


def _short(exc: Exception) -> str:
    """An exception in a few words: requests' messages repeat the whole URL and pool state."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {config().timeout:g} s"
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or host unreachable"
    return type(exc).__name__


def reachability_problem() -> str | None:
    """Why the provider cannot be used right now, or ``None`` (reads the discovery document
    and the key set)."""
    try:
        metadata()
        client().fetch_jwk_set(force=True)
    except ProviderUnavailable as exc:
        return exc.message
    except requests.RequestException as exc:
        return f"the OpenID provider's key set could not be read ({_short(exc)})"
    except ValueError:
        return "the OpenID provider's key set is not JSON"
    return None
