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

import functools
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from django.template.loader import render_to_string

from approvals import people, queries
from approvals.forms import QueueFilterForm
from approvals.live import presence
from approvals.models import Approval, Vote
from approvals.presentation.queue_rows import row_texts
from approvals.reviewing import SHOW_REQUESTED, Reviewer, Standing

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
    known = ("q", "task", "tag", "status", "expiring", "order", "show", "page")
    kept = QueryDict(mutable=True)
    for name in known:
        value = data.get(name, "").strip()
        if value:
            kept[name] = value[:200]
    return kept.urlencode()


# --- The queue ---------------------------------------------------------------------------------

# Rows a snapshot reads beyond the page, so that each reviewer can take out their own
# (approvals.reviewing.Reviewer.excluded) and still fill the page.
WINDOW_EXTRA = 50


@dataclass(frozen=True)
class QueueSnapshot:
    """The queue as one set of filters and rights sees it now: the ids in order from the
    first up to this page's end and ``WINDOW_EXTRA`` more, and how many match in all.
    Shared by every socket with the same filters and rights; ``QueueView`` is one
    reviewer's page of it."""

    ordered: list[int]
    count: int
    page: str | None  # the page asked for
    show: str
    about_matches: bool = False  # whether the approval the snapshot was read for matches

    @property
    def complete(self) -> bool:
        return len(self.ordered) >= self.count


@dataclass(frozen=True)
class QueueView:
    """One reviewer's page: its ids, the first id of the next page, the count line."""

    on_page: list[int]
    next_id: int | None
    count_html: str


def matching_rows(query: str, reviewer: Reviewer, *, personal: bool) -> QuerySet[Approval]:
    return QueueFilterForm.for_reviewer(QueryDict(query), reviewer).rows(
        reviewer, personal=personal
    )


def queue_snapshot(query: str, reviewer: Reviewer, *, about: int | None = None) -> QueueSnapshot:
    """What the filters in ``query`` show to reviewers with ``reviewer``'s rights ("Requested
    by me": to ``reviewer`` alone); their own exclusions are taken out by ``queue_view``.
    ``about``: an approval whose membership the caller needs (``about_matches``)."""
    form = QueueFilterForm.for_reviewer(QueryDict(query), reviewer)
    show = form.shown()
    rows = form.rows(reviewer, personal=show == SHOW_REQUESTED)
    count = rows.count()
    page = QueryDict(query).get("page")
    wanted = _page_number(page, count) * queries.PAGE_SIZE + 1 + WINDOW_EXTRA
    ids = list(rows.values_list("pk", flat=True)[:wanted])
    matches = about is not None and (about in ids or rows.filter(pk=about).exists())
    return QueueSnapshot(ordered=ids, count=count, page=page, show=show, about_matches=matches)


def _page_number(page: str | None, count: int) -> int:
    pages = max(1, -(-count // queries.PAGE_SIZE))
    try:
        number = int(page or 1)
    except ValueError:
        number = 1
    return min(max(number, 1), pages)


def queue_view(snapshot: QueueSnapshot, excluded: set[int]) -> QueueView | None:
    """``snapshot`` less the reviewer's own ``excluded`` rows; ``None`` when the window is
    too short for them (many exclusions on a late page: read their own snapshot then)."""
    count = max(0, snapshot.count - len(excluded))
    rows = [pk for pk in snapshot.ordered if pk not in excluded]
    number = _page_number(snapshot.page, count)
    offset = (number - 1) * queries.PAGE_SIZE
    if len(rows) < offset + queries.PAGE_SIZE + 1 and not snapshot.complete:
        return None
    on_page = rows[offset : offset + queries.PAGE_SIZE]
    following = rows[offset + queries.PAGE_SIZE : offset + queries.PAGE_SIZE + 1]
    return QueueView(
        on_page=on_page,
        next_id=following[0] if following else None,
        count_html=count_line(count, number, snapshot.show),
    )


def personal_view(query: str, reviewer: Reviewer) -> QueueView:
    """One reviewer's page read on its own (the fallback of ``queue_view``)."""
    snapshot = queue_snapshot(query, reviewer)
    rows = matching_rows(query, reviewer, personal=True)
    personal = QueueSnapshot(
        ordered=list(
            rows.values_list("pk", flat=True)[
                : _page_number(snapshot.page, snapshot.count) * queries.PAGE_SIZE + 1
            ]
        ),
        count=rows.count(),
        page=snapshot.page,
        show=snapshot.show,
    )
    view = queue_view(personal, set())
    assert view is not None  # read to the page's end: never short
    return view


@functools.lru_cache(maxsize=256)
def count_line(count: int, number: int, show: str) -> str:
    """The count line, swapped out of band; the same for everyone with the same figures."""
    pages = max(1, -(-count // queries.PAGE_SIZE))
    page = SimpleNamespace(number=number, paginator=SimpleNamespace(count=count, num_pages=pages))
    context = {"page": page, "show": show, "oob": True}
    return render_to_string("approvals/queue.html#queue-count", context)


@dataclass(frozen=True)
class RowFacts:
    """What every socket needs to render one approval's row: the row, its votes
    ``(actor id, verdict)`` and its requester's name when that is an account."""

    approval: Approval | None
    votes: tuple[tuple[int, str], ...]
    requesters: dict[str, str]


def row_facts(approval_id: int) -> RowFacts:
    approval = Approval.objects.filter(pk=approval_id).first()
    if approval is None:
        return RowFacts(None, (), {})
    votes = tuple(
        (int(actor), str(verdict))
        for actor, verdict in Vote.objects.filter(approval_id=approval_id).values_list(
            "actor_id", "verdict"
        )
        if actor is not None
    )
    return RowFacts(approval, votes, people.requester_names([approval.requested_by]))


def queue_row(
    facts: RowFacts, *, standing: Standing | None, may_decide: bool, leaving: bool, fresh: bool
) -> str:
    """One row of the queue (or its "approved by X just now" form, when ``leaving``) as a
    reviewer with ``standing`` on it sees it."""
    approval = facts.approval
    if approval is None:
        return ""
    context = {
        "approval": approval,
        "standings": {approval.pk: standing},
        "may_decide": may_decide,
        "requesters": facts.requesters,
        "leaving": leaving,
        "fresh_ids": {approval.pk} if fresh else set(),
        "viewing": presence.viewing([approval.pk]),
        "row_texts": row_texts([approval]),
    }
    return render_to_string("approvals/queue.html#queue-row", context)


def queue_results(
    request: HttpRequest,
    *,
    seen: set[int] | None = None,
    shared: bool = False,
    excluded: frozenset[int] = frozenset(),
) -> tuple[str, list[int]]:
    """The whole results section for one user (their rights and CSRF token), and its ids.
    Rows not in ``seen`` (what the browser showed before) are highlighted as new. ``shared``:
    rendered once for every socket with the same filters and rights, so without the form's
    hidden CSRF token (htmx sends the page's own in a header; these pushes need htmx)."""
    from approvals.views import queue_context  # the views import this package's presence

    context = queue_context(request, personal=not shared, excluded=excluded)
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
    me = people.display_name(request.user)
    context = {"others_viewing": [name for name in names if name != me], "oob": True}
    return render_to_string("approvals/detail.html#presence", context)
