"""What a websocket push contains: the pages' own partials, rendered for one user.

Nothing here writes HTML of its own: every push is a partial of ``approvals/queue.html`` or
``approvals/detail.html`` rendered with the context the page views build
(``views.queue_context``, ``views.detail_context``), marked for an out-of-band swap. A user
gets what a reload would show them: their rights, their vote, their CSRF token in forms.

Parts that are the same for everyone with the same filters and rights (a queue row, the
count) are rendered once per event and process and shared (``consumers``); a push with forms
(the queue's results, the decision panel) is rendered per user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, QueryDict
from django.template.loader import render_to_string

from approvals import queries
from approvals.forms import QueueFilterForm
from approvals.live import presence
from approvals.models import Approval

# A push that inserts a row: the browser may hold it while the reviewer is busy (ticked rows,
# typing, pointer on the table) and show "N new" instead (static/js/app.js).
INSERT_MARK = "<!--live:insert-->"
# Django's CSRF secret as its cookie holds it (32 letters and digits).
_CSRF_SECRET = re.compile(r"^[A-Za-z0-9]{32}$")


def live_request(*, user: Any, cookies: dict[str, str], path: str, query: str = "") -> HttpRequest:
    """A request like the page's own, to render templates for the user behind a socket: their
    user, their filters, and their CSRF cookie, so the forms' tokens match it."""
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = path
    request.GET = QueryDict(query)
    request.COOKIES = dict(cookies)
    request.META = {"SERVER_NAME": "live", "SERVER_PORT": "443", "QUERY_STRING": query}
    secret = cookies.get(settings.CSRF_COOKIE_NAME, "")
    if _CSRF_SECRET.match(secret):
        request.META["CSRF_COOKIE"] = secret
    request.user = user
    return request


def normalise_query(query: str) -> str:
    """The queue's filters as a stable key: known parameters only, sorted, blanks dropped."""
    data = QueryDict(query.lstrip("?")[:2_000])
    known = ("q", "task", "tag", "status", "expiring", "order", "page")
    kept = QueryDict(mutable=True)
    for name in known:
        value = data.get(name, "").strip()
        if value:
            kept[name] = value[:200]
    return kept.urlencode()


# --- The queue ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueSnapshot:
    """The queue as one set of filters sees it now: the ids on its page (in order), the first
    id of the next page, and the count line, ready to swap."""

    on_page: list[int]
    next_id: int | None
    count_html: str


def queue_snapshot(query: str) -> QueueSnapshot:
    facets = queries.queue_facets()
    data = QueryDict(query)
    form = QueueFilterForm(data, tasks=facets["tasks"], statuses=facets["statuses"])
    rows = queries.pending_queue(form.filters())
    page = queries.paginate(rows, data.get("page"))
    offset = (page.number - 1) * queries.PAGE_SIZE
    ids = list(rows.values_list("pk", flat=True)[offset : offset + queries.PAGE_SIZE + 1])
    count_html = render_to_string("approvals/queue.html#queue-count", {"page": page, "oob": True})
    return QueueSnapshot(
        on_page=ids[: queries.PAGE_SIZE],
        next_id=ids[queries.PAGE_SIZE] if len(ids) > queries.PAGE_SIZE else None,
        count_html=count_html,
    )


def queue_row(approval_id: int, *, may_decide: bool, leaving: bool, fresh: bool) -> str:
    """One row of the queue (or its "approved by X just now" form, when ``leaving``)."""
    approval = Approval.objects.filter(pk=approval_id).first()
    if approval is None:
        return ""
    context = {
        "approval": approval,
        "may_decide": may_decide,
        "leaving": leaving,
        "fresh_ids": {approval_id} if fresh else set(),
        "viewing": presence.viewing([approval_id]),
    }
    return render_to_string("approvals/queue.html#queue-row", context)


def queue_results(
    request: HttpRequest, *, seen: set[int] | None = None, shared: bool = False
) -> tuple[str, list[int]]:
    """The whole results section for one user (their rights and CSRF token), and its ids.
    Rows not in ``seen`` (what the browser showed before) are highlighted as new. ``shared``:
    rendered once for every socket with the same filters and rights, so without the form's
    hidden CSRF token (htmx sends the page's own in a header; these pushes need htmx)."""
    from approvals.views import queue_context  # the views import this package's presence

    context = queue_context(request)
    context["results_oob"] = True
    context["shared_render"] = shared
    if seen is not None:
        context["fresh_ids"] = {a.pk for a in context["page"].object_list} - seen
    html = render_to_string("approvals/queue.html#queue-results", context, request=request)
    return html, [approval.pk for approval in context["page"].object_list]


def inserted_row(row_html: str, *, after: int | None, removed: list[int]) -> str:
    """Insert a row after another (or first), dropping first the rows in ``removed``: those
    it pushes off the page, and an earlier row of the same approval still showing ("left
    just now"), so that an approval never has two rows.

    Every part is a ``<tbody>``: the browser parses the message as table content, where a
    bare ``<tr>`` after another element would be wrapped or dropped. A non-inline oob swap
    inserts the ``<tbody>``'s rows, not the ``<tbody>`` itself."""
    drops = "".join(f'<tbody hx-swap-oob="delete:#row-{pk}"></tbody>' for pk in removed)
    where = f"afterend:#row-{after}" if after is not None else "afterbegin:#queue-rows"
    return f'{INSERT_MARK}{drops}<tbody hx-swap-oob="{where}">{row_html}</tbody>'


# --- One approval --------------------------------------------------------------------------------


def detail_live(request: HttpRequest, approval_id: int) -> str:
    """Every live part of the detail page (state, panel, run, timeline, presence)."""
    from approvals.views import detail_context

    approval = Approval.objects.filter(pk=approval_id).first()
    if approval is None:
        return ""
    context = detail_context(request, approval)
    return render_to_string("approvals/detail.html#detail-live", context, request=request)


def detail_presence(request: HttpRequest, approval_id: int) -> str:
    names = presence.viewing([approval_id]).get(approval_id, [])
    me = presence.display_name(request.user)
    context = {"others_viewing": [name for name in names if name != me], "oob": True}
    return render_to_string("approvals/detail.html#presence", context)
