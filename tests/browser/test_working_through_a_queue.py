"""In Chromium: the keyboard, safe bulk decisions, the next approval, and a deadline that
passes while the page is open."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from approvals.models import Decision
from tests.browser.conftest import sign_in
from tests.factories import make_approval

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RITA_PASSWORD = "pw-rita-1234"


def test_the_keyboard_moves_through_the_queue_and_opens_an_approval(
    page: Any, reviewer: Any
) -> None:
    now = timezone.now()
    first = make_approval(description="First to expire", expires_at=now + timedelta(minutes=5))
    second = make_approval(description="Second to expire", expires_at=now + timedelta(hours=2))
    sign_in(page, "rita", RITA_PASSWORD)
    # Typing in a field never triggers a shortcut.
    page.get_by_label("Comment for approving (optional)").press("j")
    expect(page.get_by_label("Comment for approving (optional)")).to_have_value("j")
    expect(page.locator("#queue-rows tr.current")).to_have_count(0)
    page.locator("h1").click()
    page.keyboard.press("j")
    expect(page.locator("#queue-rows tr.current")).to_have_attribute(
        "data-token-id", first.token_id
    )
    page.keyboard.press("j")
    expect(page.locator("#queue-rows tr.current")).to_have_attribute(
        "data-token-id", second.token_id
    )
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
    page.keyboard.press("r")  # opens the approval at its Reject form
    expect(page).to_have_url(re.compile(f"/approvals/{second.token_id}/#reject$"))
    expect(page.get_by_label("Reason")).to_be_focused()
    page.keyboard.press("Escape")
    page.locator("h1").click()
    page.keyboard.press("u")
    expect(page).to_have_url(re.compile(r"/$"))


def test_a_skip_link_leads_to_the_content(page: Any, reviewer: Any) -> None:
    sign_in(page, "rita", RITA_PASSWORD)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    skip.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_bulk_counts_the_selection_asks_to_confirm_and_reports_each(
    page: Any, reviewer: Any
) -> None:
    first = make_approval(description="Rotate the Stripe keys")
    second = make_approval(description="Resize the search cluster")
    make_approval(description="Leave this one")
    sign_in(page, "rita", RITA_PASSWORD)
    page.get_by_label("Select: Rotate the Stripe keys").check()
    page.get_by_label("Select: Resize the search cluster").check()
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    page.get_by_label("Reason for rejecting (required)").fill("Not during the freeze")
    page.get_by_role("button", name="Reject selected…").click()
    confirm = page.locator(".bulk-confirm")
    expect(confirm.get_by_role("heading")).to_have_text("Reject 2 approvals?")
    expect(confirm.get_by_role("link", name="Rotate the Stripe keys")).to_be_visible()
    expect(confirm).to_be_focused()
    assert not Decision.objects.exists()
    # Cancelling keeps the selection and the reason.
    confirm.get_by_role("button", name="Cancel").click()
    expect(page.get_by_label("Select: Rotate the Stripe keys")).to_be_checked()
    expect(page.get_by_label("Reason for rejecting (required)")).to_have_value(
        "Not during the freeze"
    )
    page.get_by_role("button", name="Reject selected…").click()
    page.locator(".bulk-confirm").get_by_role("button", name="Reject 2").click()
    report = page.locator(".bulk-report")
    expect(report.locator("li")).to_have_count(2)
    expect(report.get_by_role("link", name="Rotate the Stripe keys")).to_have_attribute(
        "href", f"/approvals/{first.token_id}/"
    )
    # The outcome is read out from the one persistent status region.
    expect(page.locator("#announcer")).to_contain_text("Bulk decision")
    assert Decision.objects.filter(approval__in=[first, second]).count() == 2


def test_forms_go_when_the_deadline_passes_with_the_page_open(page: Any, reviewer: Any) -> None:
    approval = make_approval(expires_at=timezone.now() + timedelta(seconds=4))
    sign_in(page, "rita", RITA_PASSWORD, next_path=f"/approvals/{approval.token_id}/")
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    countdown = page.locator("#detail-state time.countdown")
    expect(countdown).to_have_class(re.compile(r"\bsoon\b"))
    expect(page.get_by_role("button", name="Approve")).to_have_count(0, timeout=15_000)
    expect(page.get_by_role("button", name="Reject")).to_have_count(0)
    expect(page.locator("#decision-panel")).to_contain_text("This approval expired")
    expect(page.locator("#detail-state time.countdown")).to_have_class(re.compile(r"\bexpired\b"))
    expect(page.locator("#detail-state time.countdown")).not_to_have_class(re.compile(r"\bsoon\b"))


def test_after_deciding_next_pending_opens_the_following_approval(
    page: Any, reviewer: Any, live_sandbox: Any
) -> None:
    from tests.factories import approval_for_sandbox_run

    now = timezone.now()
    first = approval_for_sandbox_run(
        live_sandbox.start_run(), description="First", expires_at=now + timedelta(minutes=5)
    )
    second = make_approval(description="Second", expires_at=now + timedelta(minutes=50))
    sign_in(page, "rita", RITA_PASSWORD)
    page.get_by_role("link", name="First").click()
    page.get_by_label("Reason").fill("Not this week")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator("#decision-panel .outcome")).to_be_visible()
    page.locator("#decision-panel").get_by_role("link", name="Next pending →").click()
    expect(page).to_have_url(re.compile(f"/approvals/{second.token_id}/$"))
    assert Decision.objects.get().approval_id == first.pk
