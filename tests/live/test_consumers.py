"""The websocket endpoints, through the project's ASGI router (session login, origin check,
groups), with Channels' ``WebsocketCommunicator``: who may connect, and what each user is
pushed when an approval changes."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client

from approvals.decisions import decide
from approvals.models import Approval, ApprovalPolicy
from approvals_site.asgi import router
from tests.factories import make_approval

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("broadcasting")]

# The origin check reads ALLOWED_HOSTS when the router is built (before the test settings
# add "testserver"): a page served from 127.0.0.1.
ORIGIN = (b"origin", b"http://127.0.0.1:8000")
WAIT = 5  # seconds: every message here comes within milliseconds


def _cookie_for(user: Any) -> bytes:
    """The cookies a signed-in browser sends: the session and the CSRF secret."""
    client = Client()
    # The backend the sign-in form uses (the first listed, django-axes', loads no users).
    client.force_login(user, backend="approvals.auth.passwords.PasswordBackend")
    client.get("/accounts/login/")  # sets the CSRF cookie
    return "; ".join(f"{k}={v.value}" for k, v in client.cookies.items()).encode()


@asynccontextmanager
async def _socket(
    path: str, user: Any = None, *, origin: tuple[bytes, bytes] = ORIGIN
) -> AsyncIterator[WebsocketCommunicator]:
    headers = [origin]
    if user is not None:
        headers.append((b"cookie", await database_sync_to_async(_cookie_for)(user)))
    communicator = WebsocketCommunicator(router, path, headers=headers)
    connected, code = await communicator.connect(timeout=WAIT)
    communicator.scope_connected = connected
    communicator.close_code = code
    try:
        yield communicator
    finally:
        await communicator.disconnect()


async def _until(communicator: WebsocketCommunicator, needle: str) -> str:
    """Messages until one contains ``needle`` (bounded); returns it."""
    async with asyncio.timeout(WAIT):
        while True:
            message = await communicator.receive_from(timeout=WAIT)
            if needle in message:
                return str(message)


async def _each(communicator: WebsocketCommunicator, *needles: str) -> list[str]:
    """Messages until each needle was in one (bounded); for each needle, its message."""
    found: dict[str, str] = {}
    async with asyncio.timeout(WAIT):
        while len(found) < len(needles):
            message = str(await communicator.receive_from(timeout=WAIT))
            for needle in needles:
                if needle in message and needle not in found:
                    found[needle] = message
    return [found[needle] for needle in needles]


async def _silent(communicator: WebsocketCommunicator) -> bool:
    return bool(await communicator.receive_nothing(timeout=0.3))


db = database_sync_to_async


# --- Who may connect -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ws/approvals/", "/ws/approvals/{token}/"])
async def test_anonymous_sockets_are_refused(path: str) -> None:
    approval = await db(make_approval)()
    async with _socket(path.format(token=approval.token_id)) as socket:
        assert socket.scope_connected is False


@pytest.mark.parametrize("path", ["/ws/approvals/", "/ws/approvals/{token}/"])
async def test_a_foreign_origin_is_refused(path: str, reviewer: Any) -> None:
    approval = await db(make_approval)()
    evil = (b"origin", b"http://evil.example.com")
    async with _socket(path.format(token=approval.token_id), reviewer, origin=evil) as socket:
        assert socket.scope_connected is False


async def test_an_unknown_approval_closes_its_socket(reviewer: Any) -> None:
    async with _socket("/ws/approvals/waitpoint_nosuchtoken/", reviewer) as socket:
        assert socket.scope_connected is False
        assert socket.close_code == 4404


async def test_a_socket_closes_once_its_session_has_ended(
    reviewer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from approvals.live import presence

    monkeypatch.setattr(presence, "HEARTBEAT_SECONDS", 0.05)  # the session check's period
    async with _socket("/ws/approvals/", reviewer) as socket:
        assert socket.scope_connected
        assert await _silent(socket)  # several checks pass while the session lives
        await db(Session.objects.all().delete)()  # signed out elsewhere, or expired
        closed = await socket.receive_output(timeout=WAIT)

    assert closed == {"type": "websocket.close", "code": 4401}


# --- The queue -----------------------------------------------------------------------------------


async def test_a_new_approval_reaches_the_queue_in_place_with_the_count(reviewer: Any) -> None:
    first = await db(make_approval)(description="First in the queue")
    async with _socket("/ws/approvals/", reviewer) as socket:
        new = await db(make_approval)(description="Arrived just now")
        await db(_announce)(new, "appeared")

        count, insert = await _each(socket, 'id="queue-count"', new.token_id)

    assert 'data-pending="2"' in count and "hx-swap-oob" in count
    assert insert.startswith("<!--live:insert-->")
    assert "Arrived just now" in insert
    assert re.search(rf'<tr id="row-{new.pk}"[^>]*class="[^"]*\bfresh\b', insert)  # highlighted
    # In the queue's order: the first expires sooner, so the new row goes after it.
    assert f'hx-swap-oob="afterend:#row-{first.pk}"' in insert


async def test_each_user_is_pushed_what_their_rights_show(reviewer: Any, outsider: Any) -> None:
    await db(make_approval)()
    async with (
        _socket("/ws/approvals/", reviewer) as theirs,
        _socket("/ws/approvals/", outsider) as mine,
    ):
        new = await db(make_approval)(description="Rights check")
        await db(_announce)(new, "appeared")
        reviewer_row = await _until(theirs, new.token_id)
        outsider_row = await _until(mine, new.token_id)

    assert 'name="token_ids"' in reviewer_row
    assert 'name="token_ids"' not in outsider_row  # nothing to tick without the right


async def test_a_decided_row_says_who_and_cannot_be_ticked(
    reviewer: Any, second_reviewer: Any
) -> None:
    approval = await db(make_approval)(description="To be decided")
    async with _socket("/ws/approvals/", reviewer) as socket:
        await db(decide)(
            token_id=approval.token_id, actor=second_reviewer, verdict="approve", deliver_now=False
        )
        count, row = await _each(socket, 'id="queue-count"', f'id="row-{approval.pk}"')

    assert 'data-pending="0"' in count
    assert "Approved by sam@example.com just now" in row
    assert 'name="token_ids"' not in row and "data-leaving" in row


async def test_a_refresh_sends_the_filtered_results_and_watches_them(reviewer: Any) -> None:
    await db(make_approval)(task_identifier="deploy-production", description="Deploy")
    async with _socket("/ws/approvals/", reviewer) as socket:
        await socket.send_to(text_data='{"type": "refresh", "query": "?task=refund-order"}')
        results = await _until(socket, 'id="queue-results"')
        assert "Nothing is waiting" in results or "No pending approval matches" in results

        other = await db(make_approval)(task_identifier="deploy-production", description="Other")
        await db(_announce)(other, "appeared")
        count = await _until(socket, 'id="queue-count"')
        assert 'data-pending="0"' in count  # counted under the socket's filters
        assert await _silent(socket)  # and no row: it does not match them


async def test_malformed_messages_from_the_browser_are_ignored(reviewer: Any) -> None:
    async with _socket("/ws/approvals/", reviewer) as socket:
        for junk in ["not json", "[]", '{"type": "drop tables"}', "x" * 10_000]:
            await socket.send_to(text_data=junk)
        assert await _silent(socket)
        await socket.send_to(text_data='{"type": "refresh"}')
        assert 'id="queue-results"' in await _until(socket, 'id="queue-results"')


# --- One approval --------------------------------------------------------------------------------


async def test_the_detail_socket_pushes_the_decision_to_everyone_watching(
    reviewer: Any, second_reviewer: Any
) -> None:
    approval = await db(make_approval)(description="Watch me")
    path = f"/ws/approvals/{approval.token_id}/"
    async with _socket(path, reviewer) as watching:
        await watching.send_to(text_data='{"type": "refresh"}')
        before = await _until(watching, 'id="decision-panel"')
        assert "approve-form" in before  # the reviewer may decide: the forms are there
        assert _csrf_of(before)  # with a token for their own session

        await db(decide)(
            token_id=approval.token_id, actor=second_reviewer, verdict="approve",
            comment="LGTM", deliver_now=False,
        )  # fmt: skip
        after = await _until(watching, "Approved")

    assert "approve-form" not in after and "reject-form" not in after
    assert "sam" in after and "LGTM" in after
    assert 'id="detail-state"' in after and 'id="timeline"' in after
    assert re.search(
        r'id="detail-state" hx-swap-oob="true">\s*<span class="state state-decided">Approved', after
    )


async def test_the_panel_shows_each_user_their_own_vote(
    reviewer: Any, second_reviewer: Any
) -> None:
    await db(ApprovalPolicy.objects.create)(name="two", approvals_required=2)
    approval = await db(make_approval)()
    path = f"/ws/approvals/{approval.token_id}/"
    async with _socket(path, reviewer) as mine, _socket(path, second_reviewer) as theirs:
        await db(decide)(
            token_id=approval.token_id, actor=reviewer, verdict="approve", deliver_now=False
        )
        my_panel = await _until(mine, "1 of 2")
        their_panel = await _until(theirs, "1 of 2")

    assert "You approved this" in my_panel and "approve-form" not in my_panel
    assert "approve-form" in their_panel and "You approved this" not in their_panel


async def test_who_else_is_viewing_is_shown_and_goes_when_they_leave(
    reviewer: Any, second_reviewer: Any
) -> None:
    approval = await db(make_approval)()
    path = f"/ws/approvals/{approval.token_id}/"
    async with _socket(path, reviewer) as mine:
        async with _socket(path, second_reviewer):
            joined = await _until(mine, "Also viewing")
        left = await _until(mine, 'id="presence"')

    assert "Also viewing: sam" in joined and "rita" not in joined.split("Also viewing")[1]
    assert "Also viewing" not in left


async def test_queue_rows_show_who_is_viewing_them(reviewer: Any, second_reviewer: Any) -> None:
    approval = await db(make_approval)()
    async with (
        _socket("/ws/approvals/", reviewer) as queue,
        _socket(f"/ws/approvals/{approval.token_id}/", second_reviewer),
    ):
        row = await _until(queue, "viewing")
    assert f'id="row-{approval.pk}"' in row and "sam" in row


def _announce(approval: Approval, kind: str) -> None:
    from approvals.events import Kind, approval_changed

    approval_changed(Kind(kind), approval_id=approval.pk, token_id=approval.token_id)


def _csrf_of(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    return match.group(1) if match else ""


async def test_a_first_row_into_an_empty_queue_is_one_render_for_everyone(
    reviewer: Any, second_reviewer: Any
) -> None:
    async with (
        _socket("/ws/approvals/", reviewer) as mine,
        _socket("/ws/approvals/", second_reviewer) as theirs,
    ):
        new = await db(make_approval)(description="First of the day")
        await db(_announce)(new, "appeared")
        seen_by_me = await _until(mine, 'id="queue-results"')
        seen_by_them = await _until(theirs, 'id="queue-results"')

    assert seen_by_me == seen_by_them  # rendered once, shared
    assert seen_by_me.startswith("<!--live:insert-->") and "First of the day" in seen_by_me
    # Shared, so no one's CSRF token: htmx sends the page's own in its header.
    assert "csrfmiddlewaretoken" not in seen_by_me


async def test_a_held_insert_is_not_counted_as_shown(reviewer: Any) -> None:
    """The page held a new row back (the reviewer was busy) and said which rows it shows:
    later pushes offer the row again rather than aim at it, and "Show N new" highlights it."""
    first = await db(make_approval)(description="Already there")
    async with _socket("/ws/approvals/", reviewer) as socket:
        held = await db(make_approval)(description="Held back")
        await db(_announce)(held, "appeared")
        await _until(socket, held.token_id)  # the insert, which the page did not apply
        await socket.send_to(text_data=f'{{"type": "watch", "query": "", "rows": [{first.pk}]}}')

        await db(_announce)(held, "changed")
        changed = await _until(socket, 'id="queue-count"')
        # Not a replacement aimed at a row the page lacks: the insert, offered again (the
        # page holds it again while the reviewer is busy).
        assert changed.startswith("<!--live:insert-->") and f'id="row-{held.pk}"' in changed
        await socket.send_to(text_data=f'{{"type": "watch", "query": "", "rows": [{first.pk}]}}')

        await socket.send_to(text_data='{"type": "refresh", "query": ""}')  # "Show 1 new"
        results = await _until(socket, 'id="queue-results"')

    assert re.search(rf'<tr id="row-{held.pk}"[^>]*class="[^"]*\bfresh\b', results)
    assert not re.search(rf'<tr id="row-{first.pk}"[^>]*class="[^"]*\bfresh\b', results)


# --- Order: a push and a refresh worked out at the same time ------------------------------------


def _hold_after_first_read(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> tuple[asyncio.Event, asyncio.Event]:
    """Hold the socket's first read of ``name`` (run through database_sync_to_async) once it
    has read, until released: the window in which the socket's other task sends."""
    from approvals.live import consumers

    real = database_sync_to_async  # what consumers imported
    read, release = asyncio.Event(), asyncio.Event()

    def holding(function: Any) -> Any:
        run = real(function)
        if getattr(function, "__name__", "") != name:
            return run

        async def held(*args: Any, **kwargs: Any) -> Any:
            result = await run(*args, **kwargs)
            if not read.is_set():
                read.set()
                await release.wait()
            return result

        return held

    monkeypatch.setattr(consumers, "database_sync_to_async", holding)
    return read, release


async def test_a_push_worked_out_before_a_refresh_is_worked_out_again_after_it(
    reviewer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen in CI after a server restart: a new row's insert, worked out against the rows the
    page showed before its reconnection's refresh, went out after that refresh's results,
    which held the row already; the page showed it twice."""
    from approvals.live.consumers import QueueConsumer

    first = await db(make_approval)(description="Already there")
    inserting, release = asyncio.Event(), asyncio.Event()
    real_row = QueueConsumer._row

    async def held_row(self: QueueConsumer, *args: Any, **kwargs: Any) -> str:
        if kwargs.get("fresh"):  # the push has decided to insert the row after the first
            inserting.set()
            await release.wait()
        return await real_row(self, *args, **kwargs)

    monkeypatch.setattr(QueueConsumer, "_row", held_row)
    async with _socket("/ws/approvals/", reviewer) as socket:
        new = await db(make_approval)(description="Arrived during the restart")
        await db(_announce)(new, "appeared")
        await asyncio.wait_for(inserting.wait(), WAIT)
        await socket.send_to(text_data='{"type": "refresh", "query": ""}')
        results = await _until(socket, 'id="queue-results"')
        release.set()
        after = await _until(socket, 'id="queue-count"')
        assert await _silent(socket)

    assert f'id="row-{first.pk}"' in results and f'id="row-{new.pk}"' in results
    assert not after.startswith("<!--live:insert-->")  # not inserted a second time
    assert f'id="row-{new.pk}"' in after  # the row, replaced in place
    assert f"afterend:#row-{first.pk}" not in after


async def test_a_refresh_read_before_a_push_is_read_again_after_it(
    reviewer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other order: results read before a new row, sent after its insert, would take the
    row off the page again (and the socket would think the page never had it)."""
    first = await db(make_approval)(description="Already there")
    read, release = _hold_after_first_read(monkeypatch, "_results")
    async with _socket("/ws/approvals/", reviewer) as socket:
        await socket.send_to(text_data='{"type": "refresh", "query": ""}')
        await asyncio.wait_for(read.wait(), WAIT)  # the results, with the first row only
        new = await db(make_approval)(description="Arrived meanwhile")
        await db(_announce)(new, "appeared")
        insert = await _until(socket, new.token_id)
        release.set()
        results = await _until(socket, 'id="queue-results"')

    assert insert.startswith("<!--live:insert-->")
    assert f'id="row-{first.pk}"' in results and f'id="row-{new.pk}"' in results
    assert 'data-pending="2"' in results


async def test_a_detail_refresh_read_before_a_decision_does_not_undo_it_on_the_page(
    reviewer: Any, second_reviewer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    approval = await db(make_approval)(description="Decided mid-refresh")
    read, release = _hold_after_first_read(monkeypatch, "detail_live")
    async with _socket(f"/ws/approvals/{approval.token_id}/", reviewer) as watching:
        await watching.send_to(text_data='{"type": "refresh"}')
        await asyncio.wait_for(read.wait(), WAIT)  # read while still pending
        await db(decide)(
            token_id=approval.token_id, actor=second_reviewer, verdict="approve", deliver_now=False
        )
        decided = await _until(watching, "Approved")
        release.set()
        last = await _until(watching, 'id="decision-panel"')
        assert await _silent(watching)

    assert "approve-form" not in decided
    assert "approve-form" not in last and "Approved" in last  # not the pending page again


async def test_a_shared_render_abandoned_by_its_socket_is_made_again_for_the_others() -> None:
    """Sockets share one render per event; when the socket making it closes mid-way (its
    task cancelled), those waiting for it make it again rather than wait forever."""
    from approvals.live.consumers import _Shared

    shared = _Shared()
    started, release = threading.Event(), threading.Event()
    made: list[int] = []

    def make() -> str:
        made.append(threading.get_ident())
        if len(made) == 1:
            started.set()
            assert release.wait(WAIT), "never released"
        return f"render {len(made)}"

    maker = asyncio.ensure_future(shared.get(("event", "row"), make))
    assert await asyncio.to_thread(started.wait, WAIT)
    waiter = asyncio.ensure_future(shared.get(("event", "row"), make))
    await asyncio.sleep(0)  # the waiter finds the render under way and waits for it
    maker.cancel()  # its socket closed
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await maker
    assert await asyncio.wait_for(waiter, WAIT) == "render 2"


# --- "Needs my decision": each reviewer's own view of the queue --------------------------------


def _two_keys() -> None:
    from tests.decisions.helpers import make_policy

    make_policy(name="Two keys", approvals_required=2)


async def test_my_vote_takes_the_row_out_of_my_view_and_not_out_of_theirs(
    reviewer: Any, second_reviewer: Any
) -> None:
    await db(_two_keys)()
    approval = await db(make_approval)(description="Needs two")
    async with (
        _socket("/ws/approvals/", reviewer) as mine,
        _socket("/ws/approvals/", second_reviewer) as theirs,
    ):
        await db(decide)(
            token_id=approval.token_id, actor=reviewer, verdict="approve", deliver_now=False
        )
        my_count, my_row = await _each(mine, 'id="queue-count"', f'id="row-{approval.pk}"')
        their_count, their_row = await _each(theirs, 'id="queue-count"', f'id="row-{approval.pk}"')

    assert 'data-pending="0"' in my_count and "waiting for you" in my_count
    assert "data-leaving" in my_row and "You voted · 1 of 2" in my_row
    assert 'data-pending="1"' in their_count
    assert "data-leaving" not in their_row and "1 of 2 approvals" in their_row
    assert 'name="token_ids"' in their_row


async def test_my_own_request_does_not_enter_my_view_but_enters_theirs(
    reviewer: Any, second_reviewer: Any
) -> None:
    await db(make_approval)(description="Already there")
    async with (
        _socket("/ws/approvals/", reviewer) as mine,
        _socket("/ws/approvals/", second_reviewer) as theirs,
    ):
        own = await db(make_approval)(description="Rita's own", requested_by="rita@example.com")
        await db(_announce)(own, "appeared")
        their_insert = await _until(theirs, own.token_id)
        my_count = await _until(mine, 'id="queue-count"')
        assert await _silent(mine)  # no row for Rita: she may not approve her own request

    assert their_insert.startswith("<!--live:insert-->")
    assert 'data-pending="1"' in my_count  # still only "Already there"


async def test_the_requested_by_me_view_is_pushed_my_requests(reviewer: Any) -> None:
    async with _socket("/ws/approvals/", reviewer) as socket:
        await socket.send_to(text_data='{"type": "refresh", "query": "?show=requested"}')
        await _until(socket, 'id="queue-results"')
        other = await db(make_approval)(description="Someone else's")
        await db(_announce)(other, "appeared")
        count = await _until(socket, 'id="queue-count"')
        assert 'data-pending="0"' in count and await _silent(socket)
        own = await db(make_approval)(description="Mine", requested_by="rita@example.com")
        await db(_announce)(own, "appeared")
        pushed = await _until(socket, own.token_id)

    assert "your request (you can't approve it)" in pushed
