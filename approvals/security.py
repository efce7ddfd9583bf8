"""Content-Security-Policy: no inline script anywhere, and nothing loaded from elsewhere.

Upstream text is escaped everywhere; this is the second wall. Every page script is a static
file (htmx is vendored), htmx is configured not to inject its indicator <style> or evaluate
anything, so the app's own pages need no 'unsafe-inline' at all. Django's admin (5.2) still
sets a few inline style attributes, so only its pages may use inline styles; inline script
stays forbidden there too.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
