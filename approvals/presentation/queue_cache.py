"""Rendered queue pages, kept by each web process and served again while nothing changed.

Most of the queue page's time is its ten queries and its template (25 rows), not the
framework: served by uvicorn it cost about six sign-in pages. A reviewer's reloads, the
page's own refreshes and a team watching the same queue mostly ask for a page that has not
changed since it was last rendered. So each process keeps the last pages it rendered, and
serves one again when all of these hold (docs/design.md, "The queue page's cache"):

* the **change counter** (approvals.changes) has not moved: no approval event, no change of
  policies, users, groups or rights anywhere since. It is read before anything else, so a
  page is never stored under a newer number than the rows it shows;
* it is for the **same user**, the same filters and page, and the same kind of answer (the
  whole page or the htmx partial);
* **no time bound** has passed: the earliest expiry among pending approvals (the row leaves
  the queue), the earliest start of an "expiring within an hour" window (the filter and the
  row's colour), the earliest moment a viewer's presence goes stale, and at most
  ``MAX_AGE`` after it was rendered (a write that bypassed the counter is seen then);
* the request carries **no one-time messages** ("Approved ...") to show.

What differs per request is written again when a kept page is served: the CSRF token (each
answer carries its own, masked, for the user's own cookie), and the rows' relative times
("5 min ago", "in 2 h"), from the times beside them in the page, with the functions that
wrote them. A served page is thus the page a fresh render would give, byte for byte; a test
renders both after every kind of change, and as time passes, and compares them.

Pages are kept in memory, per process (``QUEUE_PAGE_CACHE_ENTRIES``, least recently used
first out; 0 turns it off), never shared: a new release or setting starts empty.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.messages import get_messages
from django.db.models import Min, Q
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.test.signals import setting_changed
from django.urls import get_script_prefix
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from approvals import changes
from approvals.live.presence import STALE_AFTER
from approvals.models import Approval, ApprovalState, Viewer
from approvals.queries import EXPIRING_SOON
from approvals.templatetags.approval_tags import age, countdown

# Where a page carries its CSRF token: the hx-headers of <body> and each form's hidden field.
_TOKEN = re.compile(r'(?:"X-CSRFToken": "|name="csrfmiddlewaretoken" value=")([A-Za-z0-9]+)"')
# A row's age and countdown as templates/approvals/queue.html writes them: the moment in
# ``datetime`` (ISO 8601), the text from it (approval_tags.age / countdown) after the title.
_TIMES = re.compile(
    r'(?P<tag><td class="age" data-label="Age"><time datetime="(?P<age>[^"]+)" title="[^"]*">'
    r'|<time class="countdown" data-countdown datetime="(?P<countdown>[^"]+)" title="[^"]*">)'
    r"[^<]*"
)
# Which it was, for the browser's developer tools and the benchmarks (a standard header).
KEPT, RENDERED = 'queue-page;desc="kept"', 'queue-page;desc="rendered"'
# The longest a kept page is served: a write that moved no counter is seen this late at most.
MAX_AGE = timedelta(seconds=60)


@dataclass(frozen=True)
class Written:
    """A relative time on a kept page, written again for each request from its moment."""

    write: Callable[[datetime], str]  # approval_tags.age or countdown
    moment: datetime


class Token:
    """Where a kept page takes the request's own CSRF token."""


TOKEN = Token()


@dataclass(frozen=True)
class Kept:
    """A rendered page, cut once where each request writes its own part."""

    parts: tuple[str | Token | Written, ...]
    until: datetime  # the first moment the page may read differently without a change

    @classmethod
    def cut(cls, body: str, token: str, until: datetime) -> Kept:
        """``body`` as rendered with CSRF token ``token`` ("" when it has none)."""
        parts: list[str | Token | Written] = []
        for index, chunk in enumerate(body.split(token) if token else [body]):
            if index:
                parts.append(TOKEN)
            done = 0
            for match in _TIMES.finditer(chunk):
                parts.append(chunk[done : match.end("tag")])
                if match["age"]:
                    parts.append(Written(age, datetime.fromisoformat(match["age"])))
                else:
                    parts.append(Written(countdown, datetime.fromisoformat(match["countdown"])))
                done = match.end()
            parts.append(chunk[done:])
        return cls(tuple(part for part in parts if part != ""), until)

    def page(self, request: HttpRequest) -> str:
        token = get_token(request) if any(part is TOKEN for part in self.parts) else ""
        return "".join(
            part
            if isinstance(part, str)
            else part.write(part.moment)
            if isinstance(part, Written)
            else token
            for part in self.parts
        )


class Pages:
    """The most recently rendered pages, least recently used first out (thread-safe)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pages: OrderedDict[tuple[object, ...], Kept] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> Kept | None:
        with self._lock:
            kept = self._pages.get(key)
            if kept is not None:
                self._pages.move_to_end(key)
            return kept

    def put(self, key: tuple[object, ...], kept: Kept) -> None:
        with self._lock:
            self._pages[key] = kept
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


pages = Pages(settings.QUEUE_PAGE_CACHE_ENTRIES)


def _settings_changed(**kwargs: object) -> None:
    # Settings never change in a running server; tests change them (override_settings), and
    # a page rendered under the old ones must not be served under the new.
    pages.clear()
    pages.size = settings.QUEUE_PAGE_CACHE_ENTRIES


setting_changed.connect(_settings_changed, dispatch_uid="queue-cache-settings")


def serve(
    request: HttpRequest, *, partial: bool, render: Callable[[], HttpResponse]
) -> HttpResponse:
    """The queue page for ``request``: kept, or ``render()``-ed and kept."""
    if pages.size <= 0 or len(get_messages(request)):
        response = render()
        response["Server-Timing"] = RENDERED
        return response
    counter = changes.current()  # first: see the module's docstring
    now = timezone.now()
    key = (counter, request.user.pk, partial, request.GET.urlencode(), get_script_prefix())
    kept = pages.get(key)
    if kept is not None and now < kept.until:
        response = HttpResponse(kept.page(request))
        patch_vary_headers(response, ["HX-Request"])
        response["Server-Timing"] = KEPT
        return response
    response = render()
    response["Server-Timing"] = RENDERED
    if response.status_code == 200 and not response.streaming:
        body = response.content.decode()
        tokens = set(_TOKEN.findall(body))
        if len(tokens) <= 1:  # one render, one token (the context processor's lazy value)
            pages.put(key, Kept.cut(body, next(iter(tokens), ""), until=valid_until(now)))
    return response


def valid_until(now: datetime) -> datetime:
    """The first moment after ``now`` at which a queue page may read differently although
    nothing was changed, apart from its relative times (two small queries)."""
    bounds = [now + MAX_AGE]
    pending = Approval.objects.filter(state=ApprovalState.PENDING)
    edges = pending.aggregate(
        expires=Min("expires_at", filter=Q(expires_at__gt=now)),
        soon=Min("expires_at", filter=Q(expires_at__gt=now + EXPIRING_SOON)),
    )
    if edges["expires"] is not None:
        bounds.append(edges["expires"])
    if edges["soon"] is not None:
        bounds.append(edges["soon"] - EXPIRING_SOON)
    seen = Viewer.objects.filter(seen_at__gte=now - STALE_AFTER).aggregate(first=Min("seen_at"))
    if seen["first"] is not None:
        bounds.append(seen["first"] + STALE_AFTER)
    return min(bounds)
