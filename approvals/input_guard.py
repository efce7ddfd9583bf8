"""Text no database can store gets a clear 400, before any view sees it; ``/api/`` answers
are JSON whatever goes wrong.

PostgreSQL refuses NUL in text (a query with ``task=%00`` failed with a 500), and neither
database takes lone UTF-16 surrogates, which a JSON ``"\\ud800"`` escape produces. Rather than
a check in every view and form, this middleware looks once at the path, the query string and
form fields; the JSON API checks the strings of its bodies with ``find_unstorable`` too
(docs/hardening.md, "Unstorable text").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    DisallowedHost,
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults

logger = logging.getLogger("approvals.requests")

# NUL and lone surrogates (a surrogate never stands alone in valid Unicode text).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def is_unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def find_unstorable(value: Any, where: str = "body") -> str | None:
    """The place (``comments``, ``fields.amount``) of the first unstorable string in a decoded
    JSON value, keys included; ``None`` when there is none."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, place = stack.pop()
        if isinstance(item, str):
            if is_unstorable(item):
                return place
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and is_unstorable(key):
                    return place
                stack.append((child, f"{key}" if place == "body" else f"{place}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{place}[{i}]") for i, child in enumerate(item))
    return None


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


MESSAGE = "The request contains a NUL character or an unpaired surrogate, which cannot be stored."


def refusal(request: HttpRequest, place: str) -> HttpResponse:
    if is_api(request):
        return JsonResponse(
            {"success": False, "message": MESSAGE, "code": "invalid", "errors": {place: MESSAGE}},
            status=400,
        )
    return render(request, "400.html", {"message": MESSAGE}, status=400)


class UnstorableInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        place = self._first_unstorable(request)
        if place is not None:
            return refusal(request, place)
        return self.get_response(request)

    @staticmethod
    def _first_unstorable(request: HttpRequest) -> str | None:
        if is_unstorable(request.path):
            return "path"
        for name, values in request.GET.lists():
            if is_unstorable(name) or any(is_unstorable(v) for v in values):
                return name
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            for name, values in request.POST.lists():
                if is_unstorable(name) or any(is_unstorable(v) for v in values):
                    return name
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """An unexpected error under ``/api/`` still answers JSON (pages get the 500 page)."""
        if not is_api(request):
            return None
        if isinstance(exception, Http404):
            return JsonResponse(
                {"success": False, "message": "Not found.", "code": "not_found"}, status=404
            )
        if isinstance(exception, PermissionDenied):
            return JsonResponse(
                {"success": False, "message": "Not allowed.", "code": "forbidden"}, status=403
            )
        logger.exception("Internal error answering %s %s", request.method, request.path)
        return JsonResponse(
            {"success": False, "message": "Internal error.", "code": "internal"}, status=500
        )


# Django's own refusals (a SuspiciousOperation, BadRequest or a broken multipart body) happen
# while it reads the request, often before any view or this middleware's try: the handlers
# below, wired as handler400/403/404/500 in approvals_site/urls.py, keep those JSON under /api/.
# Pages get Django's defaults, which render the site's 400/403/404/500.html (500.html stands
# alone: no request context, no database, as whatever failed may be one of those).
# Messages are fixed text: an exception's own message can quote the caller's input.
def _bad_request_message(exception: Exception) -> tuple[int, str, str]:
    if isinstance(exception, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return 400, "invalid", f"Too many fields in the request (at most {limit})."
    if isinstance(exception, TooManyFilesSent):
        return 400, "invalid", "Too many files in the request."
    if isinstance(exception, RequestDataTooBig):
        return 413, "too_large", "Request body too large."
    if isinstance(exception, DisallowedHost):
        return 400, "invalid", "The Host header names a host this server does not answer for."
    return 400, "invalid", "Malformed request."


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api(request):
        return defaults.bad_request(request, exception)
    status, code, message = _bad_request_message(exception)
    return JsonResponse({"success": False, "message": message, "code": code}, status=status)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api(request):
        return defaults.page_not_found(request, exception)
    return JsonResponse(
        {"success": False, "message": "Not found.", "code": "not_found"}, status=404
    )


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse(
        {"success": False, "message": "Not allowed.", "code": "forbidden"}, status=403
    )


def server_error(request: HttpRequest) -> HttpResponse:
    if not is_api(request):
        return defaults.server_error(request)
    return JsonResponse(
        {"success": False, "message": "Internal error.", "code": "internal"}, status=500
    )
