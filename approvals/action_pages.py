"""The page a POST-only action belongs to, so nobody lands on an action's URL by GET.

Deciding posts to ``/approvals/<id>/approve`` (or ``reject``) and bulk deciding to
``/bulk/?<queue filters>``. Those URLs can still be reached by GET: a reload after the
browser showed the answer's URL, a bookmark, or ``next=`` after signing in again. Such a GET
goes to the page the action was taken from (the approval, or the queue with the same filters)
instead of a blank 405; ``approvals.auth.htmx_login`` uses the same mapping for ``next``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from django.utils.log import log_response

# URL names of the POST-only actions; the value names the page each belongs to.
_DECISION_ACTIONS = {"approve", "reject"}
_QUEUE_ACTIONS = {"bulk_decide"}


def page_for(path: str, query: str = "") -> str:
    """``path?query`` itself, unless it is a POST-only action: then the page it belongs to."""
    try:
        match = resolve(path)
    except Resolver404:
        match = None
    if match is not None and match.url_name in _DECISION_ACTIONS:
        return reverse("approval_detail", kwargs={"token_id": match.kwargs["token_id"]})
    if match is not None and match.url_name in _QUEUE_ACTIONS:
        path = reverse("home")
    return f"{path}?{query}" if query else path


def post_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """``require_POST``, except that GET and HEAD redirect to the action's page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            return HttpResponseRedirect(page_for(request.path_info, request.GET.urlencode()))
        if request.method != "POST":
            response = HttpResponseNotAllowed(["GET", "HEAD", "POST"])
            log_response(
                "Method Not Allowed (%s): %s",
                request.method,
                request.path,
                response=response,
                request=request,
            )
            return response
        return view(request, *args, **kwargs)

    return wrapper
