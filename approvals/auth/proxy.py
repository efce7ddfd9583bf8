"""Sign-in through a trusted authentication proxy: oauth2-proxy and the like (docs/auth-proxy.md).

The proxy signs people in and names them in a header (``AUTH_PROXY_USER_HEADER``), with their
groups and email in two more if configured. Anyone can send such headers, so they are believed
only from a request the rule trusts: its client address is inside ``AUTH_PROXY_TRUSTED_CIDRS``,
or it carries ``AUTH_PROXY_SECRET`` in ``AUTH_PROXY_SECRET_HEADER``. An untrusted request has
the headers removed before anything reads them, and goes on as its session (or anonymity) says;
a warning is logged, at most ``WARNINGS_PER_WINDOW`` a minute, so that a flood cannot fill the
log. The secret's value is never logged.

On a trusted request (this middleware sits right after Django's AuthenticationMiddleware):

- The header names someone, and the session was not made by the proxy for exactly what the
  headers say now (user, groups, email): the account is created or brought up to date through
  ``accounts.account_for``, so rights follow the proxy from the next request on. Another user
  than the session's (or none) is signed in with a new session (Django's ``login`` flushes
  the old one): a changed header never keeps the previous user's session.
- No user header, on a session the proxy made: the portal has signed them out; so are we.
- ``SignInRefused`` (a break-glass or demo name, a deactivated account, a name that is not
  usable): the session ends and a 403 page says why (JSON under ``/api/``).

The client address is whatever the ASGI server reports. Uvicorn replaces it with the
X-Forwarded-For address when the peer is in ``--forwarded-allow-ips`` (127.0.0.1 by default),
so with CIDR trust it must not rewrite the proxy's address (docs/auth-proxy.md, "Uvicorn and
the client address"); the shared secret does not depend on addresses at all.

Websockets never pass through here: Channels' AuthMiddlewareStack (approvals_site/asgi.py)
reads the session cookie only and ignores these headers, so a socket is as trusted as the
session it carries, which only a trusted HTTP request could have made for a proxy user.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import login, logout
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django_htmx.http import HttpResponseClientRefresh
from django_htmx.middleware import HtmxDetails

from approvals.auth.accounts import (
    SSO_BACKEND,
    Identity,
    SignInRefused,
    account_for,
    groups_from_claim,
)
from approvals.input_guard import is_api

logger = logging.getLogger(__name__)

SOURCE = "proxy"
# What the proxy said when it made this session: a digest of user, groups and email.
SESSION_KEY = "approvals:auth-proxy"
WARNINGS_PER_WINDOW = 10
WARNING_WINDOW_SECONDS = 60.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# RFC 9110 token characters, less "_": Django drops headers with underscores (they would
# collide with hyphens in META), so such a header would never arrive.
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^`|~-]+$")


def parse_networks(values: Iterable[str]) -> tuple[list[Network], list[str]]:
    """The networks in ``values``, and the entries that are not one. Strict: 10.0.0.1/8 is an
    error rather than 10.0.0.0/8, since a mistyped prefix would trust a whole range."""
    networks: list[Network] = []
    bad: list[str] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=True))
        except ValueError:
            bad.append(value)
    return networks, bad


def header_name_problem(name: str) -> str | None:
    if not _HEADER_NAME.match(name):
        return "use letters, digits and hyphens only (Django drops headers with underscores)"
    return None


def meta_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def _text(raw: str) -> str:
    # Django decodes header bytes as Latin-1; proxies send names as UTF-8.
    try:
        return raw.encode("latin-1").decode("utf-8").strip()
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw.strip()


@dataclass(frozen=True)
class ProxyHeaders:
    """What the request says in the proxy's headers, removed from ``request.META``."""

    user: str | None
    groups: str | None
    email: str | None
    secret: str | None

    @classmethod
    def take(cls, request: HttpRequest) -> ProxyHeaders:
        def pop(header: str | None) -> str | None:
            return request.META.pop(meta_key(header), None) if header else None

        return cls(
            user=pop(settings.AUTH_PROXY_USER_HEADER),
            groups=pop(settings.AUTH_PROXY_GROUPS_HEADER),
            email=pop(settings.AUTH_PROXY_EMAIL_HEADER),
            secret=pop(settings.AUTH_PROXY_SECRET_HEADER),
        )

    def present(self) -> list[str]:
        """The configured header names this request carries (names only, never values)."""
        pairs = [
            (settings.AUTH_PROXY_USER_HEADER, self.user),
            (settings.AUTH_PROXY_GROUPS_HEADER, self.groups),
            (settings.AUTH_PROXY_EMAIL_HEADER, self.email),
            (settings.AUTH_PROXY_SECRET_HEADER, self.secret),
        ]
        return [str(name) for name, value in pairs if value is not None]

    def identity(self) -> Identity | None:
        user = _text(self.user or "")
        if not user:
            return None
        if "," in user:
            # Repeated headers reach Django joined by commas: the proxy passed one on from the
            # client beside its own. Neither can be believed.
            raise SignInRefused(
                "The sign-in portal sent more than one user name. Tell whoever runs it."
            )
        return Identity(
            source=SOURCE,
            subject=user,
            username=user,
            email=_text(self.email or ""),
            groups=groups_from_claim(_text(self.groups or "")),
        )


def fingerprint(identity: Identity) -> str:
    said = [identity.username, identity.email, sorted(identity.groups)]
    return hashlib.sha256(json.dumps(said).encode()).hexdigest()


@dataclass(frozen=True)
class TrustRule:
    networks: tuple[Network, ...]
    secret: bytes | None

    @classmethod
    def from_settings(cls) -> TrustRule:
        networks, _ = parse_networks(settings.AUTH_PROXY_TRUSTED_CIDRS)
        secret = settings.AUTH_PROXY_SECRET if settings.AUTH_PROXY_SECRET_HEADER else None
        return cls(tuple(networks), secret.encode() if secret else None)

    def trusts(self, remote_addr: str | None, secret: str | None) -> bool:
        # Constant time, on the bytes as sent (Django decoded them as Latin-1).
        if (
            self.secret is not None
            and secret is not None
            and hmac.compare_digest(secret.encode("latin-1", "replace"), self.secret)
        ):
            return True
        return self._from_trusted_address(remote_addr)

    def _from_trusted_address(self, remote_addr: str | None) -> bool:
        if not self.networks or not remote_addr:
            return False
        try:
            address = ipaddress.ip_address(remote_addr)
        except ValueError:  # a unix socket has no address: only the secret can vouch
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


class WarningThrottle:
    """At most ``limit`` warnings per ``window`` seconds; the rest are counted, and the count
    goes out with the next warning let through."""

    def __init__(
        self,
        limit: int = WARNINGS_PER_WINDOW,
        window: float = WARNING_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._lock = threading.Lock()
        self._started = -window
        self._sent = 0
        self._suppressed = 0

    def admit(self) -> int | None:
        """``None`` to stay silent; else how many warnings were held back before this one."""
        with self._lock:
            now = self.clock()
            if now - self._started >= self.window:
                self._started, self._sent = now, 0
            if self._sent >= self.limit:
                self._suppressed += 1
                return None
            self._sent += 1
            held_back, self._suppressed = self._suppressed, 0
            return held_back


def refused_page(request: HttpRequest, message: str) -> HttpResponse:
    if is_api(request):
        return JsonResponse(
            {"success": False, "message": message, "code": "sign_in_refused"}, status=403
        )
    htmx = HtmxDetails(request)
    if htmx and not htmx.history_restore_request:
        # A fragment must not become the refusal page: reload the window, which gets it whole.
        return HttpResponseClientRefresh()
    return render(request, "registration/proxy_refused.html", {"message": message}, status=403)


class TrustedProxyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not settings.SSO_PROXY:
            raise MiddlewareNotUsed
        # Uvicorn runs no system checks: a configuration the checks call wrong stops the process
        # here (at start-up, when Django builds the middleware), with the checks' words.
        from approvals.checks import check_auth_proxy

        errors = [f"{m.id}: {m.msg}" for m in check_auth_proxy() if m.is_serious()]
        if errors:
            raise ImproperlyConfigured("; ".join(errors))
        self.get_response = get_response
        self.rule = TrustRule.from_settings()
        self.throttle = WarningThrottle()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        headers = ProxyHeaders.take(request)
        if not self.rule.trusts(request.META.get("REMOTE_ADDR"), headers.secret):
            if headers.present():
                self._warn_ignored(request, headers)
            return self.get_response(request)
        try:
            identity = headers.identity()
            if identity is None:
                if SESSION_KEY in request.session:
                    logout(request)  # signed out at the portal
            elif not self._session_matches(request, identity):
                self._sign_in(request, identity)
        except SignInRefused as exc:
            logger.warning("auth proxy sign-in refused for %r: %s", headers.user, exc.message)
            if request.user.is_authenticated:
                logout(request)
            return refused_page(request, exc.message)
        return self.get_response(request)

    @staticmethod
    def _session_matches(request: HttpRequest, identity: Identity) -> bool:
        return bool(
            request.session.get(SESSION_KEY) == fingerprint(identity)
            and request.user.is_authenticated  # also false once an admin deactivates them
        )

    @staticmethod
    def _sign_in(request: HttpRequest, identity: Identity) -> None:
        user = account_for(identity)
        if request.user.is_authenticated and request.user.pk == user.pk:
            # The same person with other groups or email: the account is brought up to date
            # and this request sees it. No new login(), which would rotate the CSRF token and
            # fail the POST that brought the change.
            request.user = user
        else:
            # Someone else, or nobody: login() flushes any previous user's session (a new key,
            # nothing kept) or, for an anonymous one, gives it a new key.
            login(request, user, backend=SSO_BACKEND)
        request.session[SESSION_KEY] = fingerprint(identity)

    def _warn_ignored(self, request: HttpRequest, headers: ProxyHeaders) -> None:
        held_back = self.throttle.admit()
        if held_back is None:
            return
        logger.warning(
            "auth proxy headers ignored: %s from %s is not a trusted proxy (not in "
            "AUTH_PROXY_TRUSTED_CIDRS, and no valid AUTH_PROXY_SECRET); user header %r, "
            "path %r%s",
            ", ".join(headers.present()),
            request.META.get("REMOTE_ADDR") or "an unknown address",
            (headers.user or "")[:200],
            request.path[:200],
            f"; {held_back} more such warnings were held back" if held_back else "",
        )
