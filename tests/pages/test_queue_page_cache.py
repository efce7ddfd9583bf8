"""A kept queue page (approvals.presentation.queue_cache) is served only while it is exactly
what a fresh render would give: after each kind of change the next answer is rendered again,
and equals a render with the cache off."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals import changes
from approvals.decisions import decide
from approvals.live import presence
from approvals.models import ApprovalPolicy, ChangeCounter, Verdict
from approvals.presentation import queue_cache
from tests.factories import make_approval
from tests.pages.conftest import HTMX

EVERY = "/?show=all"  # every pending approval, not only those waiting for this reviewer
_TOKEN = re.compile(r'(?:"X-CSRFToken": "|name="csrfmiddlewaretoken" value=")([A-Za-z0-9]+)"')


def _without_tokens(body: str) -> str:
    return _TOKEN.sub("TOKEN", body)


def _fresh(client: Client, path: str = "/", **headers: Any) -> str:
    """The page as a render with the cache off gives it."""
    size = queue_cache.pages.size
    queue_cache.pages.size = 0
    try:
        return _without_tokens(client.get(path, **headers).content.decode())
    finally:
        queue_cache.pages.size = size


def _served(client: Client, path: str = "/", **headers: Any) -> tuple[str, int]:
    """The page as served now, and how many queries that took."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **headers)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


@pytest.fixture
def kept(rita: Client) -> Iterator[Callable[[], str]]:
    """Renders the queue once (kept), and then checks that a second request is served from the
    kept page; returns a function giving the next served page, checked against a fresh one."""

    def next_page() -> str:
        body, _ = _served(rita, EVERY)
        assert _without_tokens(body) == _fresh(rita, EVERY)
        return body

    first, rendered = _served(rita, EVERY)
    again, served = _served(rita, EVERY)
    assert served < rendered, (served, rendered)
    assert _without_tokens(again) == _without_tokens(first)
    yield next_page


def test_a_second_request_is_served_from_the_kept_page_with_its_own_csrf_token(
    rita: Client,
) -> None:
    make_approval(description="Ship the billing fix")
    first, rendered = _served(rita)
    again, served = _served(rita)
    # Session, user and the change counter: nothing of the queue is read again.
    assert served == 3, served
    assert rendered > served
    assert _without_tokens(again) == _without_tokens(first) == _fresh(rita)
    tokens = set(_TOKEN.findall(again))
    assert len(tokens) == 1 and tokens != set(_TOKEN.findall(first))
    # The token put back is one the CSRF check accepts: a bulk decision goes through.
    token = tokens.pop()
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = rita.cookies
    answer = strict.post("/bulk/", {"csrfmiddlewaretoken": token, "verdict": "approve"})
    assert answer.status_code == 400  # no approval ticked: the form's error, not CSRF's 403


def test_the_htmx_partial_and_the_whole_page_are_kept_apart(rita: Client) -> None:
    make_approval(description="Ship the billing fix")
    whole, _ = _served(rita)
    partial, _ = _served(rita, **HTMX)
    assert "<html" in whole and "<html" not in partial
    assert _without_tokens(_served(rita, **HTMX)[0]) == _fresh(rita, **HTMX)
    assert _without_tokens(_served(rita)[0]) == _fresh(rita)


def test_each_user_and_each_filter_gets_its_own_page(
    rita: Client, second_reviewer: Any, client: Client
) -> None:
    make_approval(task_identifier="deploy-service", description="Deploy it")
    make_approval(task_identifier="refund-customer", description="Refund it")
    _served(rita)
    filtered, _ = _served(rita, path="/?task=refund-customer")
    assert "Refund it" in filtered and "Deploy it" not in filtered
    other = Client()
    other.force_login(second_reviewer)
    theirs, _ = _served(other)
    assert "Deploy it" in theirs
    mine, _ = _served(rita)
    assert _without_tokens(theirs) != _without_tokens(mine)  # the header names each of them
    assert _without_tokens(theirs) == _fresh(other)


def test_a_decision_shows_at_once(kept: Callable[[], str], reviewer: Any) -> None:
    approval = make_approval(description="Ship the billing fix")
    assert "Ship the billing fix" in kept()
    decide(token_id=approval.token_id, actor=reviewer, verdict=Verdict.APPROVE, deliver_now=False)
    assert "Ship the billing fix" not in kept()


def test_a_vote_that_does_not_settle_shows_at_once(
    kept: Callable[[], str], second_reviewer: Any
) -> None:
    ApprovalPolicy.objects.create(name="Two", task_pattern="deploy-*", approvals_required=2)
    approval = make_approval(task_identifier="deploy-service", description="Two keys")
    assert "0 of 2 approvals" in kept()
    decide(token_id=approval.token_id, actor=second_reviewer, verdict=Verdict.APPROVE)
    assert "1 of 2 approvals" in kept()


def test_a_new_approval_shows_at_once(kept: Callable[[], str]) -> None:
    assert "Brand new" not in kept()
    make_approval(description="Brand new")
    assert "Brand new" in kept()


def test_a_policy_or_a_group_change_shows_at_once(kept: Callable[[], str], reviewer: User) -> None:
    make_approval(task_identifier="refund-customer", description="Refund it")
    assert "not yours to decide" not in kept()
    policy = ApprovalPolicy.objects.create(
        name="Finance", task_pattern="refund-*", restrict_to_groups=True
    )
    assert "not yours to decide" in kept()
    finance = Group.objects.create(name="Finance")
    policy.approver_groups.add(finance)
    assert "not yours to decide" in kept()
    reviewer.groups.add(finance)
    assert "not yours to decide" not in kept()


def test_a_requesters_new_name_shows_at_once(kept: Callable[[], str]) -> None:
    ed = User.objects.create_user("ed", email="ed@example.com", first_name="Ed")
    make_approval(requested_by="ed@example.com")
    assert ">ed<" in kept()
    ed.username = "edwina"
    ed.save()
    assert ">edwina<" in kept()


def test_someone_opening_an_approval_shows_at_once_and_leaves_when_stale(
    kept: Callable[[], str], second_reviewer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    approval = make_approval()
    assert "open by" not in kept()
    presence.join(channel_name="socket-1", approval=approval, user=second_reviewer)
    assert "open by" in kept()
    # Its process died: no leave, no event; the row stops counting after STALE_AFTER.
    later = timezone.now() + presence.STALE_AFTER + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert "open by" not in kept()


def test_an_expiry_passing_removes_the_row_without_any_event(
    kept: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()
    make_approval(description="Short fuse", expires_at=now + timedelta(seconds=20))
    make_approval(description="Long fuse", expires_at=now + timedelta(hours=5))
    assert "Short fuse" in kept()
    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(seconds=21))
    body = kept()
    assert "Short fuse" not in body and "Long fuse" in body


def test_entering_the_expiring_within_an_hour_window_is_seen(
    rita: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()
    make_approval(description="Soon enough", expires_at=now + timedelta(hours=1, seconds=10))
    path = "/?expiring=on"
    assert "Soon enough" not in _served(rita, path)[0]
    assert "Soon enough" not in _served(rita, path)[0]
    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(seconds=11))
    assert "Soon enough" in _served(rita, path)[0]


def test_relative_times_are_those_of_the_moment_it_is_served(
    rita: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    make_approval(
        created_at=now - timedelta(minutes=5, seconds=50),
        expires_at=now + timedelta(hours=3, minutes=4, seconds=20),
    )
    body, _ = _served(rita, EVERY)
    assert "5 min ago" in body and "in 3 h 4 min" in body
    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(seconds=30))
    body, queries = _served(rita, EVERY)
    assert queries == 3  # served from the kept page, its times written again
    assert "6 min ago" in body and "in 3 h 3 min" in body
    assert _without_tokens(body) == _fresh(rita, EVERY)


def test_a_one_time_message_is_never_served_from_a_kept_page(rita: Client) -> None:
    approval = make_approval(description="Ship the billing fix")
    make_approval(description="Another one")
    _served(rita)
    _served(rita)
    # Deciding without JavaScript: post, redirect to the queue, "Approved" shown there once.
    answer = rita.post(
        "/bulk/", {"token_ids": [approval.token_id], "verdict": "approve", "confirmed": "on"}
    )
    assert answer.status_code == 302
    response = rita.get("/")
    with_message = response.content.decode()
    assert "message-success" in with_message and "Another one" in with_message
    assert response["Server-Timing"] == queue_cache.RENDERED
    after, _ = _served(rita)
    assert "message-success" not in after
    assert _without_tokens(after) == _fresh(rita)


def test_a_change_in_another_process_is_seen_through_the_shared_counter(
    kept: Callable[[], str],
) -> None:
    approval = make_approval(description="Before")
    assert "Before" in kept()
    # Another process: it changes the row (no signal here) and moves the shared counter.
    type(approval).objects.filter(pk=approval.pk).update(description="After")
    ChangeCounter.objects.update_or_create(id=1, defaults={"value": 10_000})
    assert "After" in kept()


def test_one_commit_moves_the_shared_counter_once(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    before = changes.current()[0]
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            make_approval()
    assert changes.current()[0] == before + 1


def test_a_rolled_back_change_moves_nothing_shared(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    from django.db import transaction

    before = changes.current()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        make_approval()
        raise RuntimeError
    assert callbacks == []
    after = changes.current()
    assert after[0] == before[0] and after[1] > before[1]


def test_the_cache_can_be_turned_off(rita: Client, settings: Any) -> None:
    settings.QUEUE_PAGE_CACHE_ENTRIES = 0
    make_approval()
    _, first = _served(rita)
    _, second = _served(rita)
    assert first > 3 and second > 3
