"""At 390 px wide (a phone) nothing is wider than the screen: the top bar fits, and the
queue's and history's rows are cards that show what a reviewer decides by (description,
countdown, requester, verdict) without a sideways scroll. At 1280 px they stay tables.

Screenshots of each page at both widths go to the test's tmp_path, to be looked at.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from approvals.models import ApprovalState
from tests.browser.conftest import sign_in
from tests.factories import make_approval, make_decided_approval

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RITA_PASSWORD = "pw-rita-1234"
PHONE, DESKTOP = 390, 1280

# Elements reaching past the right edge of the window; the 1 px boxes of screen-reader-only
# text are not seen, so they do not count.
OVERFLOWING = """() => [...document.querySelectorAll("body *")]
    .filter((element) => {
        const box = element.getBoundingClientRect();
        return box.width > 1 && box.right > window.innerWidth + 0.5;
    })
    .slice(0, 10)
    .map((element) => `${element.tagName.toLowerCase()}.${element.className}`)"""

LONG_RUN_ID = "run_cm00000d7xvo3ee9haa5cyxll8q2"


def assert_fits(page: Any) -> None:
    """No sideways scroll, and nothing cut off at the right edge."""
    scroll_width, window_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= window_width, f"{page.url}: {scroll_width}px wide in {window_width}px"
    assert page.evaluate(OVERFLOWING) == [], page.url


def assert_on_screen(page: Any, locator: Any) -> None:
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    width = page.evaluate("() => window.innerWidth")
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (locator, box)


# Whether a field's placeholder fits inside it (a cut one read "Reason (required to reje").
PLACEHOLDER_FITS = """(input) => {
    const style = getComputedStyle(input);
    const context = document.createElement("canvas").getContext("2d");
    context.font = style.font;
    const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return context.measureText(input.placeholder).width <= room;
}"""


def assert_filters_read_well(page: Any) -> None:
    """Placeholders whole, labels of fields side by side on one line, the live dot round."""
    for field in ("#id_q", "#id_tag", "#bulk-comment", "#bulk-reason"):
        assert page.locator(field).evaluate(PLACEHOLDER_FITS), field
    task, tag = (
        page.locator(f"label[for={name}]").bounding_box() for name in ("id_task", "id_tag")
    )
    assert abs(task["y"] - tag["y"]) < 1, (task, tag)
    status = page.locator("#live-status")
    expect(status).to_be_visible()
    if page.viewport_size["width"] <= 640:
        # Live, the dot alone, as wide as it is tall; anything else said in words (the
        # states set here as app.js sets them: this test's server has no websockets).
        status.evaluate("(s) => { s.textContent = 'Live'; s.dataset.state = 'live'; }")
        box = status.bounding_box()
        assert abs(box["width"] - box["height"]) < 1, box
        status.evaluate(
            "(s) => { s.textContent = 'Signed out: reload to sign in'; s.dataset.state = 'off'; }"
        )
        assert status.evaluate("(s) => parseFloat(getComputedStyle(s).fontSize)") > 8
        assert status.bounding_box()["width"] > 3 * box["width"]
        assert_fits(page)


def _shoot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=tmp_path / f"{name}-{page.viewport_size['width']}.png", full_page=True)


def _queue(reviewer: Any) -> None:
    make_approval(
        description="Deploy billing-service v4.13.7 (242112a) to production, then migrate the "
        "invoices table and rotate the Stripe webhook secret",
        requested_by="priya.shah.platform-engineering@example.com",
        run_id=LONG_RUN_ID,
        expires_at=timezone.now() + timedelta(minutes=15),
    )
    make_approval(description="Refund $643.28 for order ORD-44203", expires_at=None)


def test_the_queue_rows_are_cards_on_a_phone(page: Any, reviewer: Any, tmp_path: Path) -> None:
    _queue(reviewer)
    page.set_viewport_size({"width": PHONE, "height": 844})
    sign_in(page, "rita", RITA_PASSWORD)
    assert_fits(page)
    assert_on_screen(page, page.get_by_role("button", name="Sign out"))
    row = page.locator("table.queue tbody tr").first
    assert row.evaluate("(row) => getComputedStyle(row).display") != "table-row"
    assert_on_screen(page, row.get_by_role("link", name="Deploy billing-service v4.13.7"))
    assert_on_screen(page, row.locator("time.countdown"))
    expect(row.locator("time.countdown")).to_have_text(re.compile(r"in 1[45] min"))
    assert_on_screen(page, row.get_by_text("priya.shah.platform-engineering@example.com"))
    assert_on_screen(page, row.get_by_text(LONG_RUN_ID))
    # Each value says what it is: the cell carries its column's name.
    labels = row.locator("td[data-label]").evaluate_all(
        "(cells) => cells.map((cell) => getComputedStyle(cell, '::before').content)"
    )
    assert '"Expires"' in labels and '"Requested by"' in labels
    assert_filters_read_well(page)
    _shoot(page, tmp_path, "queue")


def test_a_queue_without_checkboxes_is_one_column_on_a_phone(
    page: Any, outsider: Any, tmp_path: Path
) -> None:
    _queue(outsider)
    page.set_viewport_size({"width": PHONE, "height": 844})
    sign_in(page, "otto", "pw-otto-1234", next_path="/?show=all")
    expect(page.locator("table.queue tbody tr")).to_have_count(2)
    assert_fits(page)
    description = page.get_by_role("link", name="Deploy billing-service v4.13.7")
    card = page.locator("table.queue tbody tr").first
    # No empty checkbox column: the description starts at the card's padding.
    indent = description.bounding_box()["x"] - card.bounding_box()["x"]
    assert indent < 20, indent
    _shoot(page, tmp_path, "queue-outsider")


def test_the_queue_stays_a_table_on_a_desktop(page: Any, reviewer: Any, tmp_path: Path) -> None:
    _queue(reviewer)
    page.set_viewport_size({"width": DESKTOP, "height": 900})
    sign_in(page, "rita", RITA_PASSWORD)
    assert_fits(page)
    row = page.locator("table.queue tbody tr").first
    assert row.evaluate("(row) => getComputedStyle(row).display") == "table-row"
    expect(page.locator("table.queue thead th").nth(1)).to_be_visible()
    assert_filters_read_well(page)
    _shoot(page, tmp_path, "queue")


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_the_history_shows_the_verdict_without_scrolling_sideways(
    page: Any, reviewer: Any, tmp_path: Path, width: int
) -> None:
    make_decided_approval(
        reviewer,
        "reject",
        "Not during the freeze: the payments team asked for a quiet week",
        description="Deploy billing-service v4.13.7 (242112a) to production",
        run_id=LONG_RUN_ID,
    )
    make_decided_approval(reviewer, "approve", "Ship it")
    make_approval(
        state=ApprovalState.TIMED_OUT, closed_at=timezone.now(), closed_reason="token timed out"
    )
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "rita", RITA_PASSWORD, next_path="/history/")
    expect(page.locator("table.history tbody tr")).to_have_count(3)
    assert_fits(page)
    assert_on_screen(page, page.get_by_role("button", name="Sign out"))
    for verdict in ("Rejected", "Approved", "Timed out"):
        assert_on_screen(page, page.locator("table.history tbody").get_by_text(verdict).first)
    assert_on_screen(page, page.get_by_text("Not during the freeze", exact=False))
    _shoot(page, tmp_path, "history")


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_the_detail_page_fits(page: Any, reviewer: Any, tmp_path: Path, width: int) -> None:
    approval = make_approval(
        run_id=LONG_RUN_ID,
        requested_by="priya.shah.platform-engineering@example.com",
        form_schema={
            "type": "object",
            "properties": {
                "environment": {"enum": ["staging", "production"], "title": "Environment"},
                "replicas": {"type": "integer", "title": "Replicas"},
                "notify": {"type": "boolean", "title": "Notify the on-call channel"},
            },
            "required": ["environment"],
        },
    )
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "rita", RITA_PASSWORD, next_path=f"/approvals/{approval.token_id}/")
    assert_fits(page)
    assert_on_screen(page, page.get_by_role("button", name="Sign out"))
    assert_on_screen(page, page.get_by_role("button", name="Approve", exact=True))
    assert_on_screen(page, page.get_by_label("Environment"))
    _shoot(page, tmp_path, "detail")


def test_the_sign_in_page_fits_on_a_phone(page: Any, tmp_path: Path) -> None:
    page.set_viewport_size({"width": PHONE, "height": 844})
    page.goto("/accounts/login/")
    assert_fits(page)
    assert_on_screen(page, page.get_by_role("button", name="Sign in"))
    _shoot(page, tmp_path, "login")
