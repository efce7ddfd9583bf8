"""Signing in again sends the reviewer back to the page they were on, never into a fragment.

``login_required`` answers a signed-out user with a 302 to the sign-in page and
``next=<the requested URL>``. For an htmx request that went wrong twice: the browser's XHR
followed the redirect and htmx swapped the whole sign-in page (top bar included) into the
decision panel, and ``next`` named the URL the fragment came from, often a POST-only action
(``/approvals/<id>/approve``), so signing in there ended on a 405.

This middleware rewrites those redirects (and only those: a 302 to ``LOGIN_URL`` carrying
``next``, for a signed-out user):

- ``next`` is the page, not the action: for htmx posts the page the browser shows
  (``HX-Current-URL``, trusted only when it is this site's own address, and only its path and
  query), else the requested URL; POST-only actions map to their page
  (``approvals.action_pages.page_for``).
- A form sent while signed out recorded nothing: a message says so on the page the reviewer
  lands on once signed in again.
- htmx requests get ``HX-Redirect`` (a 200 with no body, nothing to swap): htmx navigates the
  whole window to sign in. static/js/navigation.js keeps the typed text across that trip.

The JSON API never redirects (it answers 401 itself, ``approvals.api.auth``) and is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import resolve_url
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from approvals.action_pages import page_for
from approvals.input_guard import is_api


def _is_htmx(request: HttpRequest) -> bool:
    # A history restore wants a whole page; a plain redirect gives it one.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _sign_in_next(response: HttpResponse) -> str | None:
    """The ``next`` of a redirect to the sign-in page, or None for any other response."""
    if response.status_code != 302 or "Location" not in response:
        return None
    location = urlsplit(response["Location"])
    if location.path != resolve_url(settings.LOGIN_URL):
        return None
    return QueryDict(location.query).get("next")


def _own_page(request: HttpRequest, url: str | None) -> str | None:
    """Path and query of ``url`` when it is an address on this site, else None."""
    if not url or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(url)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return None
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return page_for(parts.path, parts.query)


def return_page(request: HttpRequest, requested: str) -> str:
    """Where to go after signing in: the page the user was on, never a POST-only action. An
    htmx GET asked for a page (the queue with a new filter, a history page): that one, so
    the filter typed while signed out is not lost."""
    if _is_htmx(request) and request.method != "GET":
        current = _own_page(request, request.headers.get("HX-Current-URL"))
        if current is not None:
            return current
    return _own_page(request, requested) or resolve_url(settings.LOGIN_REDIRECT_URL)


class HtmxSignInRedirectMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        requested = _sign_in_next(response)
        if requested is None or is_api(request) or request.user.is_authenticated:
            return response
        if request.method not in ("GET", "HEAD"):
            # A decision (or any form) sent while signed out did nothing: say so on the next
            # page shown (the sign-in form, or with SSO the page after the provider's round
            # trip), rather than let the click vanish.
            messages.warning(
                request,
                "You had been signed out, so what you sent was not recorded: "
                "sign in, then repeat it if it is still needed.",
            )
        response = redirect_to_login(return_page(request, requested))
        if _is_htmx(request):
            response = HttpResponseClientRedirect(response["Location"])
        # The same URL answers a redirect or an HX-Redirect: caches must keep them apart.
        patch_vary_headers(response, ["HX-Request"])
        return response
