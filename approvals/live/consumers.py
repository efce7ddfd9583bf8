"""The two websocket endpoints (docs/live-updates.md, "Endpoints").

``/ws/approvals/``: the queue. ``/ws/approvals/<tokenId>/``: one approval. Both need a signed-in
session (the handshake of anyone else is refused) and a same-site Origin (the router's origin
validator, approvals_site.asgi). The browser tells the socket what it shows with one small
JSON message, ``{"type": "refresh" | "watch", "query": "?..."}``: ``refresh`` asks for every
live part now (sent on each (re)connection and after "Show N new"), ``watch`` only says which
filters the queue shows (after a filter change the page fetched itself). The server answers
and pushes HTML only: the pages' partials, swapped out of band by htmx's websocket extension.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any, TypeVar

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase

from approvals.events import LEAVING, ApprovalEvent, Kind
from approvals.live import fragments, groups, presence
from approvals.live.broadcast import SIGNED_OUT_KIND, sender
from approvals.live.hub import hub
from approvals.models import Approval
from approvals.reviewing import SHOW_MINE, SHOW_REQUESTED, Reviewer, Standing

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Close codes: the browser does not reconnect on these (htmx retries only 1006 and 101x).
SIGNED_OUT = 4401
NOT_FOUND = 4404
# The largest message a browser sends (a command and a query string).
MAX_COMMAND_BYTES = 4_096
# How often a queue push or refresh is worked out again when the other was sent meanwhile
# (each is a few milliseconds; more than one retry is already rare).
ATTEMPTS = 5


class _Shared:
    """Renders made once per event and process, for every socket that needs the same one
    (1,000 queue sockets on the same filters cost one query and one row render)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._futures: OrderedDict[tuple[Any, ...], asyncio.Future[Any]] = OrderedDict()

    async def get(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        future = self._futures.get(key)
        if future is None or future.get_loop() is not asyncio.get_running_loop():
            future = asyncio.get_running_loop().create_future()
            self._futures[key] = future
            while len(self._futures) > self.size:
                self._futures.popitem(last=False)
            try:
                future.set_result(await database_sync_to_async(make)())
            except asyncio.CancelledError:
                # The socket making it closed: the others waiting make it again, rather
                # than wait forever for a render nobody finishes (their pages froze).
                self._drop(key, future)
                future.set_exception(_Abandoned())
                future.exception()
                raise
            except Exception as exc:
                self._drop(key, future)
                future.set_exception(exc)
                future.exception()  # retrieved here: the awaiting sockets re-raise it
        try:
            return await asyncio.shield(future)
        except _Abandoned:
            return await self.get(key, make)

    def _drop(self, key: tuple[Any, ...], future: asyncio.Future[Any]) -> None:
        if self._futures.get(key) is future:
            del self._futures[key]


class _Abandoned(Exception):
    """A shared render whose socket closed before it was made."""


shared = _Shared()


def _still_signed_in(scope: dict[str, Any]) -> bool:
    """Whether the socket's session still exists, unexpired, for the same user."""
    session: SessionBase | None = scope.get("session")
    user = scope.get("user")
    if session is None or user is None or not session.session_key:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore
    data = store(session.session_key).load()  # empty when the session is gone or expired
    active = bool(getattr(user, "is_active", False))
    return active and str(data.get(SESSION_KEY, "")) == str(user.pk)


@dataclass(frozen=True)
class Command:
    """What a browser says: ``refresh`` or ``watch``, its query string, and (``watch``) the
    rows its table really shows (a held insert is not among them)."""

    type: str
    query: str
    rows: frozenset[int] | None = None


def _command(text: str | None) -> Command | None:
    if not text or len(text) > MAX_COMMAND_BYTES:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") not in ("refresh", "watch"):
        return None
    query = data.get("query", "")
    rows = data.get("rows")
    shown: frozenset[int] | None = None
    if isinstance(rows, list) and len(rows) <= 200:
        shown = frozenset(r for r in rows if isinstance(r, int) and not isinstance(r, bool))
    return Command(str(data["type"]), query if isinstance(query, str) else "", shown)


class _SignedInConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels has no types
    """Refuses anonymous handshakes; closes the socket once the session ends. Events come
    through this process's hub into ``inbox``, handled in order by a task of the socket's
    own (approvals.live.hub): the socket itself is no channel-layer member."""

    # No channel-layer channel per socket: the hub is this process's one member.
    channel_layer_alias = "approvals-live-sockets-use-the-hub"
    watchdog: asyncio.Task[None] | None = None
    drain: asyncio.Task[None] | None = None
    joined: tuple[str, ...] = ()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every handler with a hop to the
        # database thread; every database call here goes through database_sync_to_async,
        # which does that itself, so the extra hop per message is skipped.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def listen(self, *groups_: str) -> None:
        """Receive the events of ``groups_`` from now on."""
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1_000)
        self.drain = asyncio.create_task(self._drain())
        # And the user's own group: signing out closes the socket at once, not at the next
        # session check (approvals.live.signals).
        groups_ = (*groups_, groups.user(self.scope["user"].pk))
        for group in groups_:
            await hub().join(group, self)
        self.joined = groups_

    async def _drain(self) -> None:
        while True:
            message = await self.inbox.get()
            if message.get("kind") == SIGNED_OUT_KIND:
                await self.close(code=SIGNED_OUT)
                return
            try:
                await self.approval_event(message)
            except asyncio.CancelledError:
                raise
            except OSError:  # the browser went away meanwhile (its disconnect follows)
                return
            except Exception:  # one bad push must not end the socket's updates
                logger.exception("live: a push failed")

    async def approval_event(self, message: dict[str, Any]) -> None:
        raise NotImplementedError

    async def signed_in(self) -> bool:
        # Sockets live on the server's loop: broadcast from it (the in-memory layer's queues
        # need that), even where the server ran without the ASGI lifespan that attaches it.
        sender.attach_if_unattached(asyncio.get_running_loop())
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()  # before accept: the handshake is refused (HTTP 403)
            return False
        return True

    def start_watchdog(self) -> None:
        self.watchdog = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            # Jittered: sockets opened together (a reconnecting crowd after a restart) must
            # not all check their sessions in the same second, ahead of the pushes.
            await asyncio.sleep(presence.HEARTBEAT_SECONDS * random.uniform(0.5, 1.5))
            try:
                signed_in = await database_sync_to_async(_still_signed_in)(self.scope)
                if signed_in:
                    await self.beat()
            except Exception:  # the database is away: keep the socket, look again later
                logger.exception("live: the session check failed")
                continue
            if not signed_in:
                await self.close(code=SIGNED_OUT)
                return

    async def beat(self) -> None:
        """Each heartbeat while signed in (the detail socket refreshes its presence)."""

    def request(self, path: str, query: str = "") -> Any:
        cookies = dict(self.scope.get("cookies") or {})
        return fragments.live_request(
            user=self.scope["user"], cookies=cookies, path=path, query=query
        )

    async def disconnect(self, code: int) -> None:
        for group in self.joined:
            await hub().leave(group, self)
        for task in (self.watchdog, self.drain):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


class QueueConsumer(_SignedInConsumer):
    """The queue's socket: the count, rows changing and leaving, new rows in place.

    The rows a page shows depend on the filters and, in "Needs my decision", on the
    reviewer: their rights (shared by everyone with the same groups), less their own
    ``excluded`` rows (voted on, or their own request), kept here and updated from each
    event (approvals.reviewing)."""

    async def connect(self) -> None:
        if not await self.signed_in():
            return
        # Until the browser says otherwise ("watch"), it shows the default first page.
        self.query = ""
        self.excluded: set[int] = set()
        self.reviewer: Reviewer = await database_sync_to_async(Reviewer)(self.scope["user"])
        view = await database_sync_to_async(self._read_view)()
        self.shown: set[int] = set(view.on_page)  # the rows the browser shows
        self.leaving: set[int] = set()  # rows sent as "left just now", maybe still showing
        # Counts what was sent (or the filters changing): a push or refresh worked out while
        # it moved is out of date (docs/live-updates.md, "Order").
        self.version = 0
        await self.accept()
        await self.listen(groups.QUEUE)
        self.start_watchdog()

    def _read_view(self) -> fragments.QueueView:
        """This reviewer's page now, their exclusions read again (in a database thread)."""
        snapshot = fragments.queue_snapshot(self.query, self.reviewer)
        self.show = snapshot.show
        self.excluded = (
            self.reviewer.excluded(
                fragments.matching_rows(self.query, self.reviewer, personal=False)
            )
            if snapshot.show == SHOW_MINE
            else set()
        )
        view = fragments.queue_view(snapshot, self.excluded)
        return view or fragments.personal_view(self.query, self.reviewer)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        command = _command(text_data)
        if command is None:
            return
        query = fragments.normalise_query(command.query)
        same_filters = query == self.query
        self.query = query
        if command.type == "refresh":
            await self._refresh(same_filters)
            return
        view = await database_sync_to_async(self._read_view)() if not same_filters else None
        if command.rows is not None:
            self.shown = set(command.rows)
        elif view is not None:
            self.shown = set(view.on_page)
        else:
            self.shown = set((await database_sync_to_async(self._read_view)()).on_page)
        self.version += 1  # a push worked out against the old filters must be worked out again

    async def _refresh(self, same_filters: bool) -> None:
        """Send the whole results as a reload would show them. Pushes run beside this (on the
        socket's drain task); one sent while the results were read may be older or newer
        than them, so they are read again until none was (docs/live-updates.md, "Order")."""
        # Rows the browser did not show before are highlighted, unless it changed filters.
        seen = set(self.shown) if same_filters else None
        for _attempt in range(ATTEMPTS):
            version = self.version
            # Rights may have changed since the socket opened (groups, policies).
            self.reviewer = await database_sync_to_async(Reviewer)(self.scope["user"])
            await database_sync_to_async(self._read_view)()
            html, ids = await database_sync_to_async(self._results)(seen)
            if self.version == version:
                break
        else:
            logger.info("live: a refresh raced %d pushes; sent as last read", ATTEMPTS)
        # No await between the check above and the send: nothing else is sent in between.
        self.shown = set(ids)
        self.leaving = set()
        self.version += 1
        await self.send(text_data=html)

    def _results(
        self, seen: set[int] | None = None, *, shared: bool = False
    ) -> tuple[str, list[int]]:
        request = self.request("/", self.query)
        excluded = frozenset(self.excluded) if shared else frozenset()
        return fragments.queue_results(request, seen=seen, shared=shared, excluded=excluded)

    async def approval_event(self, message: dict[str, Any]) -> None:
        """Work the push out on copies of what the browser shows, and send it only if no
        refresh (or filter change) was sent meanwhile; otherwise work it out again against
        what that sent (docs/live-updates.md, "Order")."""
        event = ApprovalEvent.from_message(message)
        for _attempt in range(ATTEMPTS):
            version = self.version
            shown, leaving = set(self.shown), set(self.leaving)
            part = await self._push(event, shown, leaving)
            if self.version == version:
                break
        else:
            logger.info("live: a push raced %d refreshes; sent as last worked out", ATTEMPTS)
        # No await between the check above and the send: nothing else is sent in between.
        self.shown, self.leaving = shown, leaving
        self.version += 1
        if part:
            await self.send(text_data=part)

    async def _row(
        self,
        event: ApprovalEvent,
        facts: fragments.RowFacts,
        standing: Standing | None,
        *,
        leaving: bool,
        fresh: bool = False,
    ) -> str:
        may_decide = self.reviewer.may_decide_at_all
        key = (event.id, "row", may_decide, standing, leaving, fresh)
        return await shared.get(
            key,
            lambda: fragments.queue_row(
                facts, standing=standing, may_decide=may_decide, leaving=leaving, fresh=fresh
            ),
        )

    async def _push(self, event: ApprovalEvent, shown: set[int], leaving: set[int]) -> str:
        """This socket's message: the row parts first (they name the approval), the count
        last, in one frame ("" for none). ``shown`` and ``leaving`` are updated to what the
        browser shows once it applied it. The snapshot and the row's facts are read once per
        event, process and filters (and rights), and shared by every socket."""
        pk = event.approval_id
        facts = await shared.get((event.id, "facts"), lambda: fragments.row_facts(pk))
        approval = facts.approval
        standing = self.reviewer.standing_of(approval, facts.votes) if approval else None
        if event.kind == Kind.PRESENCE:
            if pk not in shown:
                return ""
            return await self._row(event, facts, standing, leaving=False)
        query, reviewer = self.query, self.reviewer
        personal = (self.scope["user"].pk,) if self.show == SHOW_REQUESTED else ()
        snapshot = await shared.get(
            (event.id, "snapshot", query, reviewer.rights, *personal),
            lambda: fragments.queue_snapshot(query, reviewer, about=pk),
        )
        if snapshot.show == SHOW_MINE:
            # The reviewer's own votes and requests leave their "Needs my decision".
            if snapshot.about_matches and standing is not None and not standing.needs_me:
                self.excluded.add(pk)
            else:
                self.excluded.discard(pk)
        view = fragments.queue_view(snapshot, self.excluded)
        if view is None:
            view = await database_sync_to_async(fragments.personal_view)(query, reviewer)
        count, on_page = view.count_html, view.on_page
        leaving_kind = event.kind in LEAVING
        if leaving_kind or (pk in shown and pk not in on_page):
            if pk not in shown:
                return count
            shown.discard(pk)
            leaving.add(pk)
            return await self._row(event, facts, standing, leaving=True) + count
        if pk not in on_page:
            return count  # on another page, or filtered out: the count says enough
        if pk in shown:
            return await self._row(event, facts, standing, leaving=False) + count
        position = on_page.index(pk)
        after = on_page[position - 1] if position else None
        if not shown or (after is not None and after not in shown):
            # The browser's table cannot take the row in place (it showed no rows, or not
            # the one before it): send the whole results, as a reload would show them. In
            # "Needs my decision" that is shared by reviewers with the same rights and
            # exclusions (rendered without anyone's own signals); elsewhere rows carry the
            # reviewer's own ("you voted"), so it is theirs alone.
            seen = set(shown)
            whose = () if self.show == SHOW_MINE else (self.scope["user"].pk,)
            key = (
                event.id,
                "results",
                query,
                reviewer.rights,
                frozenset(self.excluded),
                frozenset(seen),
                *whose,
            )
            html, ids = await shared.get(
                key, lambda: self._results(seen, shared=self.show == SHOW_MINE)
            )
            leaving.clear()
            shown.clear()
            shown.update(ids)
            return fragments.INSERT_MARK + html  # the count is inside the results
        row = await self._row(event, facts, standing, leaving=False, fresh=True)
        removed = sorted(shown - set(on_page))
        shown.difference_update(removed)
        shown.add(pk)
        if pk in leaving:
            removed.append(pk)
            leaving.discard(pk)
        return fragments.inserted_row(row, after=after, removed=removed) + count


class ApprovalConsumer(_SignedInConsumer):
    """One approval's socket: state, panel, run, timeline and who else is viewing."""

    async def connect(self) -> None:
        if not await self.signed_in():
            return
        token_id = str(self.scope["url_route"]["kwargs"]["token_id"])
        approval = await database_sync_to_async(
            lambda: Approval.objects.filter(token_id=token_id).only("pk", "token_id").first()
        )()
        if approval is None:
            await self.close(code=NOT_FOUND)
            return
        self.approval_id: int = approval.pk
        self.path = f"/approvals/{token_id}/"
        self.socket_id = f"{uuid.uuid4().hex}"  # this socket's presence row
        self.version = 0  # counts the parts sent (see _send_latest)
        await self.accept()
        await self.listen(groups.approval(approval.pk))
        await database_sync_to_async(presence.join)(
            channel_name=self.socket_id, approval=approval, user=self.scope["user"]
        )
        self.start_watchdog()

    async def beat(self) -> None:
        await database_sync_to_async(presence.heartbeat)(channel_name=self.socket_id)

    async def disconnect(self, code: int) -> None:
        # The viewer leaves first, whatever the rest of the teardown does: a row left behind
        # keeps "Also viewing" wrong on the others' pages until it goes stale.
        try:
            socket_id = getattr(self, "socket_id", None)
            if socket_id is not None:
                await database_sync_to_async(presence.leave)(channel_name=socket_id)
        finally:
            await super().disconnect(code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        command = _command(text_data)
        if command is not None and command.type == "refresh":
            await self._send_all()

    async def _send_all(self) -> None:
        request = self.request(self.path)
        await self._send_latest(
            lambda: database_sync_to_async(fragments.detail_live)(request, self.approval_id)
        )

    async def _send_latest(self, make: Callable[[], Awaitable[str]]) -> None:
        """Send what ``make`` reads, read again if another part was sent meanwhile: a refresh
        read before a decision must not land after the decision's push and undo it on the
        page (docs/live-updates.md, "Order")."""
        for _attempt in range(ATTEMPTS):
            version = self.version
            html = await make()
            if self.version == version:
                break
        # No await between the check above and the send: nothing else is sent in between.
        self.version += 1
        if html:
            await self.send(text_data=html)

    async def approval_event(self, message: dict[str, Any]) -> None:
        event = ApprovalEvent.from_message(message)
        if event.approval_id != self.approval_id:
            return
        if event.kind == Kind.PRESENCE:
            request = self.request(self.path)
            await self._send_latest(
                lambda: database_sync_to_async(fragments.detail_presence)(request, self.approval_id)
            )
            return
        await self._send_all()
