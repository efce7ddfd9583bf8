"""Security headers and the debug page's secrets.

Content-Security-Policy: no inline script anywhere, and nothing loaded from elsewhere.

Upstream text is escaped everywhere; this is the second wall. Every page script is a static
file (htmx is vendored), htmx is configured not to inject its indicator <style> or evaluate
anything, so the app's own pages need no 'unsafe-inline' at all. Django's admin (5.2) still
sets a few inline style attributes, so only its pages may use inline styles; inline script
stays forbidden there too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.debug import SafeExceptionReporterFilter

_COMMON = (
    "default-src 'self'; script-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
APP_POLICY = f"{_COMMON}; style-src 'self'"
ADMIN_POLICY = f"{_COMMON}; style-src 'self' 'unsafe-inline'"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            admin = request.path.startswith("/admin/")
            response["Content-Security-Policy"] = ADMIN_POLICY if admin else APP_POLICY
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
