"""Moving around in Chromium: Back shows what the address says, one history entry per real
change with no empty parameters, and a session that expires mid-decision sends the reviewer
to sign in and back to the same page with the typed comment still there."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import make_approval

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RITA_PASSWORD = "pw-rita-1234"


def _idle(page: Any) -> None:
    """No htmx request in flight: htmx marks the requesting element and the indicator while
    one is. (A locator, not wait_for_function: polling a string would need eval, which the
    page's Content-Security-Policy refuses.)"""
    expect(page.locator(".htmx-request")).to_have_count(0)


def _query(page: Any) -> dict[str, str]:
    pairs = parse_qsl(urlsplit(page.url).query, keep_blank_values=True)
    assert all(value for _, value in pairs), f"empty parameter in {page.url}"
    return dict(pairs)


def _history_length(page: Any) -> int:
    return int(page.evaluate("history.length"))


def _expect_queue(page: Any, *, q: str, task: str, rows: int) -> None:
    """Address, controls and results agree."""
    expect(page.locator("#queue-results tr[data-token-id]")).to_have_count(rows)
    expect(page.locator("#id_q")).to_have_value(q)
    expect(page.locator("#id_task")).to_have_value(task)
    query = _query(page)
    assert query.get("q", "") == q
    assert query.get("task", "") == task
    # Back and Forward may have reloaded the page: let htmx start (it handles the next popstate)
    # before the test moves on faster than anyone could.
    page.wait_for_load_state("load")  # after the deferred scripts: htmx is running


def test_back_shows_what_the_address_says_and_each_change_is_one_entry(
    page: Any, reviewer: Any
) -> None:
    make_approval(description="Rotate the Stripe keys", task_identifier="rotate-keys")
    make_approval(description="Stripe webhook secret", task_identifier="deploy-production")
    make_approval(description="Resize the search cluster", task_identifier="deploy-production")
    sign_in(page, "rita", RITA_PASSWORD)
    _expect_queue(page, q="", task="", rows=3)
    start = _history_length(page)

    page.locator("#id_q").fill("stripe")
    # The address changes once the debounced search has been answered: the debounce is spent.
    expect(page).to_have_url(re.compile(r"[?&]q=stripe"))
    _idle(page)
    page.keyboard.press("Tab")  # leaving the box fires "change" at once: no second entry
    _idle(page)
    _expect_queue(page, q="stripe", task="", rows=2)
    assert _history_length(page) == start + 1

    page.locator("#id_task").select_option("rotate-keys")
    expect(page).to_have_url(re.compile(r"[?&]task=rotate-keys"))
    _expect_queue(page, q="stripe", task="rotate-keys", rows=1)
    assert _history_length(page) == start + 2

    page.go_back()
    expect(page).not_to_have_url(re.compile(r"task="))
    _expect_queue(page, q="stripe", task="", rows=2)
    page.go_forward()
    expect(page).to_have_url(re.compile(r"[?&]task=rotate-keys"))
    _expect_queue(page, q="stripe", task="rotate-keys", rows=1)

    page.get_by_role("link", name="Rotate the Stripe keys").click()
    expect(page).to_have_url(re.compile(r"/approvals/[^/]+/$"))
    page.go_back()
    _expect_queue(page, q="stripe", task="rotate-keys", rows=1)
    page.go_back()
    _expect_queue(page, q="stripe", task="", rows=2)
    page.go_back()
    _expect_queue(page, q="", task="", rows=3)


def test_history_filters_survive_back_and_forward(page: Any, reviewer: Any) -> None:
    from approvals.models import ApprovalState

    make_approval(state=ApprovalState.TIMED_OUT, description="Timed out one")
    make_approval(state=ApprovalState.RUN_ENDED, description="Ended with its run")
    sign_in(page, "rita", RITA_PASSWORD, next_path="/history/")
    rows = page.locator("#history-results tr[data-token-id]")
    expect(rows).to_have_count(2)
    start = _history_length(page)
    page.locator("#id_state").select_option(ApprovalState.TIMED_OUT)
    expect(rows).to_have_count(1)
    assert _query(page) == {"state": ApprovalState.TIMED_OUT}
    assert _history_length(page) == start + 1
    page.go_back()
    expect(rows).to_have_count(2)
    expect(page.locator("#id_state")).to_have_value("")
    page.go_forward()
    expect(rows).to_have_count(1)
    expect(page.locator("#id_state")).to_have_value(ApprovalState.TIMED_OUT)


# Set by a watcher when the decision panel ever holds a password field (the login page).
_WATCH_PANEL = """() => {
  new MutationObserver(() => {
    if (document.querySelector('#decision-panel input[type=password]')) {
      sessionStorage.setItem('test:login-in-panel', '1');
    }
  }).observe(document.body, { subtree: true, childList: true });
}"""


def test_an_expired_session_keeps_the_comment_through_signing_in_again(
    page: Any, reviewer: Any
) -> None:
    approval = make_approval(description="Deploy billing 2.4 to production")
    detail = f"/approvals/{approval.token_id}/"
    sign_in(page, "rita", RITA_PASSWORD, next_path=detail)
    page.get_by_label("Comment").fill("Checked the canary, ship it")
    page.evaluate(_WATCH_PANEL)
    Session.objects.all().delete()

    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    assert dict(parse_qsl(urlsplit(page.url).query)) == {"next": detail}
    assert page.evaluate("sessionStorage.getItem('test:login-in-panel')") is None
    assert not approval.votes.exists()

    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill(RITA_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(f"{re.escape(detail)}$"))
    expect(page.get_by_label("Comment")).to_have_value("Checked the canary, ship it")

    # Restored once: a later visit starts empty.
    page.reload()
    expect(page.get_by_label("Comment")).to_have_value("")


def test_a_draft_goes_back_only_to_the_person_who_typed_it(
    page: Any, reviewer: Any, second_reviewer: Any
) -> None:
    """Rita's session ends mid-reason and Sam signs in on the same tab: Sam's form is
    empty, not pre-filled with Rita's words."""
    approval = make_approval(description="Deploy billing 2.4 to production")
    detail = f"/approvals/{approval.token_id}/"
    sign_in(page, "rita", RITA_PASSWORD, next_path=detail)
    page.get_by_label("Comment").fill("Rita's own note, not for anyone else")
    Session.objects.all().delete()

    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("pw-sam-1234")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(f"{re.escape(detail)}$"))
    # The page has read the draft (and let it go) before its form is looked at.
    page.wait_for_function(
        "() => !Object.keys(sessionStorage).some((key) => key.startsWith('unsaved'))"
    )
    expect(page.get_by_label("Comment")).to_have_value("")
