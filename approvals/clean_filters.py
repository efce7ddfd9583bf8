"""Filter addresses without empty parameters.

A plain GET form sends every field, empty or not (``/?q=&task=&tag=ops``), and those
addresses ended up in the history, in bookmarks and in the pager's links. The pages treat an
empty parameter and a missing one alike, so a GET of the queue or the history with empty
parameters is redirected to the same address without them: the address bar, Back and every
link built from ``request.GET`` then say exactly what is filtered. (With JavaScript,
static/js/navigation.js drops them before the request is sent, so no redirect happens.)
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve
from django.utils.cache import patch_vary_headers

# URL names of the pages whose query string is a set of filters.
FILTERED_PAGES = {"home", "history"}


def _is_filtered_page(request: HttpRequest) -> bool:
    try:
        return resolve(request.path_info).url_name in FILTERED_PAGES
    except Resolver404:
        return False


class DropEmptyFiltersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD") and request.META.get("QUERY_STRING"):
            pairs = [(name, value) for name, values in request.GET.lists() for value in values]
            kept = [(name, value) for name, value in pairs if value]
            if len(kept) < len(pairs) and _is_filtered_page(request):
                cleaned = urlencode(kept)
                response = HttpResponseRedirect(request.path + (f"?{cleaned}" if cleaned else ""))
                patch_vary_headers(response, ["HX-Request"])
                return response
        return self.get_response(request)
