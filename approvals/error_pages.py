"""405 answers in the site's frame.

``require_GET`` and ``approvals.action_pages.post_only`` answer a wrong method with Django's
``HttpResponseNotAllowed``: an empty body, which the browser shows as a blank page with no
way back. Django has no handler405, so this middleware renders templates/405.html for such
answers on pages, keeping the status and the ``Allow`` header. ``/api/`` answers its own JSON
405s and is left alone, as is any 405 that already has a body.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from approvals.input_guard import is_api


class MethodNotAllowedPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or is_api(request) or response.content:
            return response
        page = render(request, "405.html", {"method": request.method}, status=405)
        if "Allow" in response:
            page["Allow"] = response["Allow"]
        return page
