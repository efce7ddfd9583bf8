"""Security headers and the debug page's secrets.

Content-Security-Policy: no inline script anywhere, and nothing loaded from elsewhere.

Upstream text is escaped everywhere; this is the second wall. Every page script is a static
file (htmx is vendored), htmx is configured not to inject its indicator <style> or evaluate
anything, so the app's own pages need no 'unsafe-inline' at all. Django's admin (5.2) still
sets a few inline style attributes, so only its pages may use inline styles; inline script
stays forbidden there too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.debug import SafeExceptionReporterFilter

_COMMON = (
    "default-src 'self'; script-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
APP_POLICY = f"{_COMMON}; style-src 'self'"
ADMIN_POLICY = f"{_COMMON}; style-src 'self' 'unsafe-inline'"


@functools.lru_cache(maxsize=4)
def policies(elsewhere: tuple[str, ...]) -> tuple[str, str]:
    """(pages, admin). Signing out can answer with a redirect to the identity provider's
    end-session page (OIDC) or the proxy's sign-out address, and browsers hold redirects
    after a form post to ``form-action``: those origins join 'self' there, nothing else."""
    origins = []
    for url in elsewhere:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    if not origins:
        return APP_POLICY, ADMIN_POLICY
    allowed = "form-action 'self' " + " ".join(sorted(set(origins)))
    return (
        APP_POLICY.replace("form-action 'self'", allowed),
        ADMIN_POLICY.replace("form-action 'self'", allowed),
    )


def _sign_out_destinations() -> tuple[str, ...]:
    found = []
    if settings.SSO_OIDC and settings.OIDC_ISSUER:
        found.append(settings.OIDC_ISSUER)
    if settings.SSO_PROXY and settings.AUTH_PROXY_SIGN_OUT_URL:
        found.append(settings.AUTH_PROXY_SIGN_OUT_URL)
    return tuple(found)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            app, admin = policies(_sign_out_destinations())
            response["Content-Security-Policy"] = (
                admin if request.path.startswith("/admin/") else app
            )
        return response


class PrivateNoStoreMiddleware:
    """``Cache-Control: private, no-store`` on every answer that does not say otherwise.

    Pages and API answers carry payloads, requesters and decisions: no shared cache (a proxy,
    a CDN) may keep them, and the browser must not store them on disk either, so that a
    signed-out machine shows nothing from its cache. Static files are answered before this
    (WhiteNoise sits above it) and keep their long-lived caching.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" not in response:
            response["Cache-Control"] = "private, no-store"
        return response


# The password in a URL's user-info part: scheme://user:PASSWORD@host
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@", re.IGNORECASE)


class SettingsFilter(SafeExceptionReporterFilter):
    """Django's debug page hides settings whose *name* looks secret; ``DATABASE_URL`` and
    ``REDIS_URL`` do not, yet carry passwords. This also masks the password inside any
    URL-shaped value, wherever it appears in the settings."""

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if type(cleansed) is str:  # not lazy proxies (django-axes' settings are some)
            return _URL_PASSWORD.sub(rf"\g<head>{self.cleansed_substitute}@", cleansed)
        return cleansed
