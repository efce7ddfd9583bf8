"""In Chromium, at 1280 and 390 px: the notification settings page, and an email's Approve link
followed while signed out, signed in, and confirmed with the keyboard alone; and, on the app
served with its websockets, the link's note kept through live pushes until its form goes.

Screenshots go to var/screenshots/ (git-ignored), for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from approvals.models import Approval, Decision, Vote
from approvals.notify.models import (
    ChannelKind,
    DeliveryStatus,
    Event,
    Notification,
    Occurrence,
    Preferences,
)
from tests.browser.conftest import TIMEOUT_MS, sign_in
from tests.browser.live_app import LiveApp, Reviewers, served_env
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_phone_layout import assert_fits, assert_on_screen
from tests.factories import approval_for_sandbox_run, make_approval, make_decided_approval
from tests.sandbox_server import RunningSandbox
from tests.served import ROOT, database_url_of
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RITA_PASSWORD = "pw-rita-1234"
WIDTHS = [pytest.param(1280, id="desktop"), pytest.param(390, id="phone")]
SCREENSHOTS = ROOT / "var" / "screenshots"


def _shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.evaluate("() => window.scrollTo(0, 0)")  # the sticky top bar at the top of the picture
    page.screenshot(path=SCREENSHOTS / f"notify-{name}-{width}.png", full_page=True)


def _emails_to(user: Any) -> None:
    """Three emails as the outbox leaves them: sent, failed, still trying."""
    rows = [
        (
            "Waiting for your decision: Deploy billing-service v4.13.7 (242112a) to production",
            DeliveryStatus.SENT,
            "",
        ),
        (
            "Expires 2026-12-03 18:20 UTC: Refund $643.28 for order ORD-44203",
            DeliveryStatus.FAILED,
            "SMTP 550 5.1.1 <rita@example.com>: Recipient address rejected: User unknown",
        ),
        ("Approved by sam: Rotate the Stripe keys", DeliveryStatus.PENDING, "timed out"),
    ]
    for subject, status, error in rows:
        approval = make_approval(description=subject.split(": ", 1)[1])
        occurrence = Occurrence.objects.create(approval=approval, event=Event.PENDING)
        Notification.objects.create(
            occurrence=occurrence,
            event=Event.PENDING,
            recipient_key=f"user:{user.pk}",
            user=user,
            kind=ChannelKind.EMAIL,
            address=user.email,
            subject=subject,
            body=f"{subject}\n\nTask:          deploy-production\nRequested by:  "
            f"priya.shah.platform-engineering@example.com\n\nOpen the approval: "
            f"http://127.0.0.1:8000/approvals/{approval.token_id}/\n",
            status=status,
            attempts=1 if status == DeliveryStatus.SENT else 4,
            last_error=error,
            sent_at=timezone.now() if status == DeliveryStatus.SENT else None,
        )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_settings_page_with_the_keyboard(
    page: Any, reviewer: Any, axe_source: str, width: int
) -> None:
    _emails_to(reviewer)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "rita", RITA_PASSWORD)
    nav = page.get_by_role("navigation", name="Your account")
    assert_on_screen(page, nav.get_by_role("link", name="Notifications"))
    nav.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Notifications")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("checkbox")).to_have_count(4)  # not the admins' one
    expect(page.locator("ol.mails > li")).to_have_count(3)
    page.locator("details.mail-body > summary").first.click()
    expect(page.locator("details.mail-body pre").first).to_contain_text("Open the approval:")
    assert_fits(page)
    assert_accessible(page, axe_source, width)
    _shoot(page, "settings")

    # The keyboard alone: untick the last choice, tab to Save, press Enter.
    last = page.get_by_role("checkbox", name="My requests that expired")
    last.focus()
    page.keyboard.press("Space")
    expect(last).not_to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save choices")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("ul.messages")).to_contain_text("Your notification choices are saved.")
    expect(page.get_by_role("checkbox", name="My requests that expired")).not_to_be_checked()
    expect(page.get_by_role("checkbox", name="New approvals I may decide")).to_be_checked()
    saved = Preferences.objects.get(user=reviewer)
    assert (saved.email_pending, saved.email_expired) == (True, False)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_settings_page_says_when_no_email_can_arrive(
    page: Any, reviewer: Any, settings: Any, axe_source: str, width: int
) -> None:
    settings.NOTIFY_EMAIL = False
    reviewer.email = ""
    reviewer.save()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "rita", RITA_PASSWORD, next_path="/settings/notifications/")
    expect(page.locator("[data-note=email-off]")).to_contain_text("Email is turned off")
    expect(page.locator("[data-note=no-address]")).to_contain_text("no email address")
    expect(page.get_by_text("No email has been written to you yet.")).to_be_visible()
    assert_fits(page)
    assert_accessible(page, axe_source, width)
    _shoot(page, "settings-notes")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_emails_approve_link_is_confirmed_with_the_keyboard(
    page: Any, reviewer: Any, live_sandbox: Any, axe_source: str, width: int
) -> None:
    ids = live_sandbox.start_run(description="Deploy billing 2.4 to production")
    approval = approval_for_sandbox_run(
        ids,
        description="Deploy billing 2.4 to production",
        payload={"service": "billing", "version": "2.4.0"},
    )
    link = f"/approvals/{approval.token_id}/?confirm=approve"
    page.set_viewport_size({"width": width, "height": 900})

    # Signed out, the link leads through sign-in and back to itself, confirm and all.
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill(RITA_PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(link) + "$"))

    note = page.locator("#confirm-note")
    expect(note).to_have_text(
        "You followed the Approve link from an email. Check the request below, then press"
        " Approve to confirm: the link alone decides nothing."
    )
    assert_on_screen(page, note)
    comment = page.get_by_label("Comment")
    expect(comment).to_be_focused()
    assert_on_screen(page, comment)
    assert not Vote.objects.exists()
    assert not Decision.objects.exists()
    assert_fits(page)
    assert_accessible(page, axe_source, width)
    _shoot(page, "confirm")

    page.keyboard.press("Tab")
    approve = page.get_by_role("button", name="Approve", exact=True)
    expect(approve).to_be_focused()
    page.keyboard.press("Enter")
    panel = page.locator("#decision-panel")
    expect(panel).to_contain_text("Approved: Trigger.dev has resumed the run.")
    expect(panel.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    expect(note).to_be_hidden()  # nothing left to confirm
    output = wait_until(
        lambda: live_sandbox.control("GET", f"runs/{ids['runId']}")["output"], timeout=5
    )
    assert output["decision"]["approvedBy"] == "rita@example.com"
    assert Decision.objects.get(approval=approval).actor == reviewer
    _shoot(page, "confirmed")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_link_that_cannot_be_confirmed_says_why(
    page: Any, outsider: Any, reviewer: Any, axe_source: str, width: int
) -> None:
    pending = make_approval(description="Rotate the Stripe keys")
    decided = make_decided_approval(reviewer, "reject", "Not during the freeze")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "otto", "pw-otto-1234")

    page.goto(f"/approvals/{pending.token_id}/?confirm=approve")
    note = page.locator("#confirm-note")
    expect(note).to_have_text(
        "You followed the Approve link from an email, but you cannot approve it. You do not"
        " have permission to decide approvals."
    )
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    assert_on_screen(page, note)
    assert_fits(page)
    assert_accessible(page, axe_source, width)
    _shoot(page, "cannot-confirm")

    page.goto(f"/approvals/{decided.token_id}/?confirm=reject")
    expect(note).to_have_text(
        "You followed the Reject link from an email, but this approval is already decided:"
        " there is nothing to confirm."
    )
    expect(page.locator("#decision-panel")).to_contain_text("Rejected by rita")
    assert_accessible(page, axe_source, width)
    _shoot(page, "already-decided")


# --- On the served app, with live pushes -----------------------------------------------------

# A push follows a sync pass on a busy machine (see tests/browser/test_live_updates.py).
LIVE_TIMEOUT_MS = 3 * TIMEOUT_MS


@pytest.fixture
def served(
    transactional_db: None, live_sandbox: RunningSandbox, tmp_path: Path
) -> Iterator[LiveApp]:
    """The dashboard under uvicorn (websockets and all), as in test_live_updates.py."""
    env = served_env(database_url=database_url_of(connection.settings_dict), sandbox=live_sandbox)
    app = LiveApp(env=env, log_path=tmp_path / "uvicorn.log")
    app.start()
    try:
        yield app
    finally:
        app.stop()
        print(app.log())


@pytest.fixture
def served_people(chromium: Browser, served: LiveApp) -> Iterator[Reviewers]:
    people = Reviewers(browser=chromium, base_url=served.url)
    try:
        yield people
    finally:
        people.close()
    assert people.problems == [], people.problems


def _after_the_first_push(page: Page, frames: list[str]) -> None:
    """Once the page's socket has brought the panel (each connection asks for every live
    part, static/js/app.js): what it replaced is then in place again."""
    wait_until(
        lambda: any('id="decision-panel"' in frame for frame in frames),
        timeout=LIVE_TIMEOUT_MS / 1000,
        pause=lambda s: page.wait_for_timeout(s * 1000),  # lets Playwright take the frames
    )


def _rita_follows_the_approve_link(people: Reviewers, token_id: str) -> tuple[Page, list[str]]:
    """Rita opens an email's Approve link on the served app, once the approval is in and the
    page's socket has brought its first push; the socket's frames keep coming in ``frames``."""
    wait_until(lambda: Approval.objects.filter(token_id=token_id).exists(), timeout=15)
    page = people.sign_in("rita").new_page()
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda data: frames.append(str(data))))
    page.goto(f"/approvals/{token_id}/?confirm=approve")
    expect(page.locator("#live-status")).to_have_text("Live", timeout=LIVE_TIMEOUT_MS)
    _after_the_first_push(page, frames)
    return page, frames


def test_the_note_stays_through_pushes_and_goes_with_its_form(
    served_people: Reviewers,
    live_sandbox: RunningSandbox,
    reviewer: Any,
    second_reviewer: Any,
) -> None:
    ids = live_sandbox.start_run(description="Deploy billing 2.4 to production")
    page, frames = _rita_follows_the_approve_link(served_people, ids["tokenId"])
    note = page.locator("#confirm-note")
    expect(note).to_be_visible()
    expect(page.get_by_label("Comment")).to_be_focused()  # kept through the panel's swap
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Approve", exact=True)).to_be_focused()

    # Sam rejects it on his own page: Rita's panel loses its forms, and the note goes too.
    other = served_people.sign_in("sam").new_page()
    other.goto(f"/approvals/{ids['tokenId']}/")
    other.get_by_label("Reason").fill("Not during the freeze")
    other.get_by_role("button", name="Reject", exact=True).click()
    expect(page.locator("#detail-state .state")).to_have_text("Rejected", timeout=LIVE_TIMEOUT_MS)
    expect(note).to_be_hidden()
    assert not Vote.objects.filter(actor=reviewer).exists()


def test_the_keyboard_stays_on_the_outcome_through_the_push_after_deciding(
    served_people: Reviewers, live_sandbox: RunningSandbox, reviewer: Any
) -> None:
    """Enter on Approve: the outcome takes the keyboard, and the push that follows (the
    decision reaches every open page) does not send it back to the top of the page."""
    ids = live_sandbox.start_run(description="Deploy billing 2.5 to production")
    page, frames = _rita_follows_the_approve_link(served_people, ids["tokenId"])
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Approve", exact=True)).to_be_focused()
    pushed = len(frames)
    page.keyboard.press("Enter")
    outcome = page.locator("#decision-panel [data-outcome]")
    expect(outcome).to_be_focused(timeout=LIVE_TIMEOUT_MS)
    # The push of the decided panel arrives, and the keyboard is still on the outcome.
    wait_until(
        lambda: any('id="decision-panel"' in f for f in frames[pushed:]),
        timeout=LIVE_TIMEOUT_MS / 1000,
        pause=lambda s: page.wait_for_timeout(s * 1000),
    )
    page.wait_for_function(
        "document.activeElement && document.activeElement.closest('#decision-panel') !== null",
        timeout=LIVE_TIMEOUT_MS,
    )
    assert page.evaluate("document.activeElement !== document.body")
