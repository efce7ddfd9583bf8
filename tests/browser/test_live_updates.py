"""Live updates in Chromium: what one reviewer does, or what changes on Trigger.dev, shows on
every open page without a reload (docs/live-updates.md).

The app runs under a real uvicorn (tests/browser/live_app.py) with the sync loop inside it,
pointed at a standalone sandbox; the tests drive the sandbox through its controls and the v4
API, and wait on what the pages show with bounded expectations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import Browser, Locator, Page, WebSocketRoute, expect

from approvals.models import Approval
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.live_app import (
    LiveApp,
    Reviewers,
    assert_not_reloaded,
    complete_token,
    open_live,
    served_env,
)
from tests.sandbox_server import RunningSandbox
from tests.served import ROOT, database_url_of
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = ROOT / "var" / "screenshots"  # git-ignored
LEAVING = re.compile(r"\bleaving\b")
FRESH = re.compile(r"\bfresh\b")


# How long an expectation waits for a push: `make test` runs these beside the SQLite leg on
# two cores, where a push that takes 50 ms alone has been seen to take over 10 s.
LIVE_TIMEOUT_MS = 3 * TIMEOUT_MS


@pytest.fixture(autouse=True)
def _patient_expectations() -> Iterator[None]:
    """Expectations wait longer than Playwright's own 5 s default: a push follows a sync
    pass, on a machine that also runs Chromium, the server and another test leg."""
    expect.set_options(timeout=LIVE_TIMEOUT_MS)
    try:
        yield
    finally:
        expect.set_options(timeout=5_000)


@pytest.fixture
def app(transactional_db: None, live_sandbox: RunningSandbox, tmp_path: Path) -> Iterator[LiveApp]:
    """The dashboard under uvicorn on the test database and the sandbox; its log is printed
    when the test ends (pytest shows it beside a failure)."""
    env = served_env(database_url=database_url_of(connection.settings_dict), sandbox=live_sandbox)
    served = LiveApp(env=env, log_path=tmp_path / "uvicorn.log")
    served.start()
    try:
        yield served
    finally:
        served.stop()
        print(served.log())


@pytest.fixture
def people(chromium: Browser, app: LiveApp) -> Iterator[Reviewers]:
    """Signed-in browser contexts on the served app; closed (and their sockets with them)
    before the server stops."""
    reviewers = Reviewers(browser=chromium, base_url=app.url)
    try:
        yield reviewers
    finally:
        reviewers.close()
        print("Browser console errors:", *reviewers.console_errors or ["none"], sep="\n  ")
    assert reviewers.problems == [], reviewers.problems


def synced(token_id: str) -> Approval:
    """The approval once the served app's sync has stored it."""
    found: Approval = wait_until(
        lambda: Approval.objects.filter(token_id=token_id).first(), timeout=15
    )
    return found


def row(page: Page, token_id: str) -> Locator:
    return page.locator(f'#queue-rows tr[data-token-id="{token_id}"]')


def detail(token_id: str) -> str:
    return f"/approvals/{token_id}/"


# Records every rendered moment at which an approval page contradicts itself: the decision in
# the panel while the state line says Pending, or "Approved" above the decision forms.
_WATCH_CONTRADICTIONS = """() => {
  window.liveTestContradictions = [];
  const check = () => {
    const state = document.querySelector("#detail-state");
    const panel = document.querySelector("#decision-panel");
    if (!state || !panel) return;
    const decided = panel.querySelector(".decided") !== null;
    const forms = panel.querySelector("form") !== null;
    const pending = /Pending/.test(state.textContent);
    if ((decided && pending) || (forms && !pending)) {
      window.liveTestContradictions.push(
        state.textContent.trim().replace(/\\s+/g, " ") + " | " +
        panel.textContent.trim().replace(/\\s+/g, " ").slice(0, 160));
    }
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true});
}"""


def watch_contradictions(page: Page) -> None:
    page.evaluate(_WATCH_CONTRADICTIONS)


def contradictions(page: Page) -> list[str]:
    seen: list[str] = page.evaluate("window.liveTestContradictions")
    return seen


def expect_count(page: Page, pending: int) -> None:
    """The count line and the tab title agree on ``pending``."""
    expect(page.locator("#queue-count")).to_have_attribute("data-pending", str(pending))
    expect(page.locator("#queue-count strong")).to_have_text(str(pending))
    expect(page).to_have_title(re.compile(rf"^\({pending}\) Pending approvals"))


def expect_left(
    queue: Page, detail_page: Page, token_id: str, state: str, *, pending: int, closed: str
) -> None:
    """The approval left the queue: its row says why and cannot be ticked, the count
    dropped, and its open page says so with no decision forms."""
    left = row(queue, token_id)
    expect(left).to_have_class(LEAVING)
    expect(left).to_contain_text(state)
    expect(left.locator("input[name=token_ids]")).to_have_count(0)
    expect_count(queue, pending)
    expect(detail_page.locator("#detail-state .state")).to_have_text(state)
    expect(detail_page.locator("#decision-panel .closed")).to_contain_text(closed)
    expect(detail_page.locator("#decision-panel form")).to_have_count(0)


def test_a_decision_shows_on_every_open_page_at_once(
    app: LiveApp,
    people: Reviewers,
    live_sandbox: RunningSandbox,
    reviewer: Any,
    second_reviewer: Any,
) -> None:
    deploy = live_sandbox.start_run(description="Deploy billing 2.4 to production", timeout="1h")
    other = live_sandbox.start_run(description="Rotate the Stripe keys", timeout="2h")
    synced(deploy["tokenId"])
    synced(other["tokenId"])
    token = deploy["tokenId"]

    rita = people.sign_in("rita")
    sam = people.sign_in("sam")
    rita_queue = open_live(rita, "/")
    sam_detail = open_live(sam, detail(token))
    sam_queue = open_live(sam, "/")
    rita_detail = open_live(rita, detail(token))
    for queue in (rita_queue, sam_queue):
        expect_count(queue, 2)
    expect(sam_detail.locator("#decision-panel .approve-form")).to_have_count(1)
    for page in (rita_detail, sam_detail):
        watch_contradictions(page)

    rita_detail.get_by_label("Comment").fill("Canary is green, ship it")
    rita_detail.get_by_role("button", name="Approve", exact=True).click()

    # Both queues: the row says who approved it (nothing left to tick), the count drops.
    for queue in (sam_queue, rita_queue):
        left = row(queue, token)
        expect(left).to_have_class(LEAVING)
        expect(left).to_contain_text("Approved by rita@example.com just now")
        expect(left.locator("input[name=token_ids]")).to_have_count(0)
        expect_count(queue, 1)
        expect(row(queue, other["tokenId"])).not_to_have_class(LEAVING)

    # The deciding reviewer's own page.
    expect(rita_detail.locator("#decision-panel")).to_contain_text("Approved by rita")
    expect(rita_detail.locator("#detail-state .state")).to_have_text("Approved")
    expect(rita_detail.locator("#detail-state")).not_to_contain_text("Pending")
    expect(rita_detail.locator("#timeline")).to_contain_text("Approved by rita")
    expect(rita_detail.locator("#timeline")).to_contain_text("Canary is green, ship it")

    # The other reviewer's page of the same approval: decided by Rita, no forms left.
    expect(sam_detail.locator("#detail-state .state")).to_have_text("Approved")
    expect(sam_detail.locator("#decision-panel .decided")).to_contain_text("Approved by rita")
    expect(sam_detail.locator("#decision-panel .decided")).to_contain_text(
        "Canary is green, ship it"
    )
    expect(sam_detail.locator("#decision-panel form")).to_have_count(0)
    expect(sam_detail.locator("#timeline")).to_contain_text("Approved by rita")

    # At no rendered moment did either page say "Approved" beside "Pending" (or the reverse).
    assert contradictions(rita_detail) == []
    assert contradictions(sam_detail) == []
    assert_not_reloaded(rita_queue, rita_detail, sam_queue, sam_detail)


def test_the_deciding_reviewer_sees_what_became_of_the_decision(
    app: LiveApp, people: Reviewers, live_sandbox: RunningSandbox, reviewer: Any
) -> None:
    """The htmx answer to a decision carries its outcome ("Approved: Trigger.dev has resumed
    the run.", or why delivery is still pending); the live push of the same decision must
    not take its place."""
    ids = live_sandbox.start_run(description="Deploy billing 2.4 to production", timeout="1h")
    synced(ids["tokenId"])
    page = open_live(people.sign_in("rita"), detail(ids["tokenId"]))
    page.get_by_label("Comment").fill("Canary is green, ship it")
    page.get_by_role("button", name="Approve", exact=True).click()

    expect(page.locator("#detail-state .state")).to_have_text("Approved")
    expect(page.locator("#decision-panel .delivery")).to_have_text("Delivered to Trigger.dev")
    expect(page.locator("#decision-panel .outcome")).to_have_text(
        "Approved: Trigger.dev has resumed the run."
    )
    assert_not_reloaded(page)


def test_the_reviewer_who_lost_a_race_is_told_and_the_next_push_keeps_it(
    app: LiveApp,
    people: Reviewers,
    live_sandbox: RunningSandbox,
    reviewer: Any,
    second_reviewer: Any,
) -> None:
    """Rita rejects on a page that has not yet heard that Sam approved: her answer says Sam
    decided first and that what she sent was not recorded, and the push of Sam's decision,
    landing after it, leaves that notice in place (it wiped it within milliseconds)."""
    ids = live_sandbox.start_run(description="Deploy billing 2.5 to production", timeout="1h")
    token = ids["tokenId"]
    synced(token)
    held: list[str | bytes] = []
    routes: list[WebSocketRoute] = []

    def hold_pushes(socket: WebSocketRoute) -> None:
        """Rita's socket, as usual, except that pushes of a decided panel wait in ``held``."""
        routes.append(socket)
        server = socket.connect_to_server()
        socket.on_message(lambda message: server.send(message))

        def from_server(message: str | bytes) -> None:
            text = message if isinstance(message, str) else message.decode()
            if 'id="decision-panel"' in text and 'data-state="none:0:0"' not in text:
                held.append(message)
            else:
                socket.send(message)

        server.on_message(from_server)

    rita = people.sign_in("rita").new_page()
    rita.route_web_socket(re.compile(r"/ws/"), hold_pushes)
    rita.goto(detail(token))
    sam = open_live(people.sign_in("sam"), detail(token))
    sam.get_by_role("button", name="Approve", exact=True).click()
    expect(sam.locator("#detail-state .state")).to_have_text("Approved")
    # Sam's push, kept from Rita (collected by the route's handler: Rita's page pumps it).
    wait_until(
        lambda: held, timeout=TIMEOUT_MS / 1000, pause=lambda s: rita.wait_for_timeout(s * 1000)
    )

    rita.get_by_label("Reason").fill("Not during the freeze")
    rita.get_by_role("button", name="Reject", exact=True).click()
    notice = rita.locator("#decision-panel .outcome")
    expect(notice).to_contain_text("Already decided by sam@example.com")
    expect(notice).to_contain_text("what you sent was not recorded")
    expect(rita.locator("#detail-state .state")).to_have_text("Approved")

    # Sam's push lands now, after Rita's answer: it replaces the panel (marked, to tell).
    rita.evaluate("document.getElementById('decision-panel').dataset.before = 'push'")
    for message in held:
        routes[-1].send(message)
    expect(rita.locator("#decision-panel:not([data-before])")).to_have_count(1)
    expect(notice).to_contain_text("what you sent was not recorded")


def test_an_open_approval_page_says_what_a_reload_says(
    app: LiveApp, people: Reviewers, live_sandbox: RunningSandbox, reviewer: Any
) -> None:
    """Every part of an open page tells the truth once a change has been pushed, as a fresh
    load of the same page does."""
    ids = live_sandbox.start_run(description="Refund order 1042", timeout="1h")
    token = ids["tokenId"]
    synced(token)
    rita = people.sign_in("rita")
    page = open_live(rita, detail(token))
    complete_token(live_sandbox, token, {"approved": True, "by": "a script"})
    expect(page.locator("#detail-state .state")).to_have_text("Completed elsewhere")
    # The run resumes and then finishes: compare once it has stopped moving.
    expect(page.locator("#detail-state")).to_contain_text("run COMPLETED")

    reloaded = open_live(rita, detail(token))
    for name, select in (
        ("state line", lambda tab: tab.locator("#detail-state")),
        ("decision panel", lambda tab: tab.locator("#decision-panel")),
        ("run card", lambda tab: tab.locator("#run-card")),
        ("timeline", lambda tab: tab.locator("#timeline")),
        ("tokens of this run", _tokens_table),
    ):
        fresh = select(reloaded).inner_text()
        print(f"{name} after a reload: {fresh!r}")
        expect(select(page), f"the open page's {name}").to_have_text(fresh, use_inner_text=True)
    assert_not_reloaded(page)


def _tokens_table(page: Page) -> Locator:
    heading = page.get_by_role("heading", name="Tokens of this run")
    return page.locator("section.card").filter(has=heading).locator("table")


def test_changes_on_trigger_dev_show_without_a_reload(
    app: LiveApp, people: Reviewers, live_sandbox: RunningSandbox, reviewer: Any
) -> None:
    expiring = live_sandbox.start_run(description="Purge the CDN cache", timeout="2m")
    staying = live_sandbox.start_run(description="Resize the search cluster", timeout="1h")
    elsewhere = live_sandbox.start_run(description="Refund order 1042", timeout="90m")
    for ids in (expiring, staying, elsewhere):
        synced(ids["tokenId"])
    rita = people.sign_in("rita")
    queue = open_live(rita, "/")
    elsewhere_page = open_live(rita, detail(elsewhere["tokenId"]))
    expiring_page = open_live(rita, detail(expiring["tokenId"]))
    expect_count(queue, 3)
    for page in (elsewhere_page, expiring_page):
        expect(page.locator("#decision-panel .approve-form")).to_have_count(1)

    # A new run asks for a decision: its row appears in its place, highlighted.
    new = live_sandbox.start_run(description="Publish the quarterly report", timeout="3h")
    added = row(queue, new["tokenId"])
    expect(added).to_have_class(FRESH)
    expect(added).to_contain_text("Publish the quarterly report")
    expect(added.locator("input[name=token_ids]")).to_have_count(1)
    expect(queue.locator("#queue-rows tr")).to_have_count(4)
    expect_count(queue, 4)

    # Another client completes a token through Trigger.dev's API.
    complete_token(live_sandbox, elsewhere["tokenId"], {"approved": True, "by": "a script"})
    expect_left(queue, elsewhere_page, elsewhere["tokenId"], "Completed elsewhere", pending=3,
                closed="This approval was answered outside this dashboard.")  # fmt: skip

    # Trigger.dev's clock passes the token's timeout.
    live_sandbox.control("POST", "clock", {"advanceSeconds": 150})
    expect_left(queue, expiring_page, expiring["tokenId"], "Timed out", pending=2,
                closed="This approval expired")  # fmt: skip

    expect(row(queue, staying["tokenId"])).not_to_have_class(LEAVING)
    assert_not_reloaded(queue, elsewhere_page, expiring_page)


def test_when_the_last_row_has_left_the_queue_says_so_as_a_reload_does(
    app: LiveApp, people: Reviewers, live_sandbox: RunningSandbox, reviewer: Any
) -> None:
    ids = live_sandbox.start_run(description="Refund order 1042", timeout="1h")
    token = ids["tokenId"]
    synced(token)
    rita = people.sign_in("rita")
    queue = open_live(rita, "/")
    complete_token(live_sandbox, token, {"approved": True, "by": "a script"})
    expect(row(queue, token)).to_have_class(LEAVING)
    expect_count(queue, 0)
    # The leaving row goes a few seconds later (the pointer is not on the table).
    expect(row(queue, token)).to_have_count(0, timeout=15_000)

    reloaded = rita.new_page()
    reloaded.goto("/")
    empty = "Nothing is waiting for your decision."
    expect(reloaded.get_by_text(empty)).to_be_visible()
    expect(reloaded.get_by_role("button", name="Approve selected")).to_have_count(0)
    expect(queue.get_by_text(empty)).to_be_visible()
    expect(queue.get_by_role("button", name="Approve selected")).to_have_count(0)
    expect(queue.locator("table.queue")).to_have_count(0)
    assert_not_reloaded(queue)


def test_a_new_row_waits_behind_a_notice_while_rows_are_ticked(
    app: LiveApp, people: Reviewers, live_sandbox: RunningSandbox, reviewer: Any
) -> None:
    first = live_sandbox.start_run(description="Resize the search cluster", timeout="1h")
    second = live_sandbox.start_run(description="Refund order 1042", timeout="2h")
    for ids in (first, second):
        synced(ids["tokenId"])
    queue = open_live(people.sign_in("rita"), "/")
    expect_count(queue, 2)
    ticked = row(queue, first["tokenId"]).locator("input[name=token_ids]")
    ticked.check()
    queue.mouse.move(5, 5)  # the pointer off the table: only the tick keeps the queue busy

    new = live_sandbox.start_run(description="Rotate the Stripe keys", timeout="30m")
    notice = queue.locator("#live-notice")
    expect(notice).to_be_visible()
    expect(notice).to_have_text("Show 1 new")
    expect_count(queue, 3)  # the count is not held back
    expect(row(queue, new["tokenId"])).to_have_count(0)
    expect(queue.locator("#queue-rows tr")).to_have_count(2)
    expect(ticked).to_be_checked()

    notice.get_by_role("button", name="Show 1 new").click()
    expect(row(queue, new["tokenId"])).to_be_visible()
    expect(row(queue, new["tokenId"])).to_contain_text("Rotate the Stripe keys")
    expect(queue.locator("#queue-rows tr")).to_have_count(3)
    expect(notice).to_be_hidden()
    expect(row(queue, first["tokenId"]).locator("input[name=token_ids]")).to_be_checked()
    expect(row(queue, second["tokenId"]).locator("input[name=token_ids]")).not_to_be_checked()
    assert_not_reloaded(queue)


def test_who_else_is_viewing_an_approval(
    app: LiveApp,
    people: Reviewers,
    live_sandbox: RunningSandbox,
    reviewer: Any,
    second_reviewer: Any,
) -> None:
    ids = live_sandbox.start_run(description="Deploy billing 2.4 to production", timeout="1h")
    token = ids["tokenId"]
    synced(token)
    rita = people.sign_in("rita")
    sam = people.sign_in("sam")
    rita_queue = open_live(rita, "/")
    rita_detail = open_live(rita, detail(token))
    # The queue names everyone who has the page open (Rita herself, in her other tab).
    viewers = row(rita_queue, token).locator(".viewing")
    expect(viewers).to_contain_text(re.compile(r"\brita\b"))
    expect(viewers).not_to_contain_text(re.compile(r"\bsam\b"))
    expect(rita_detail.locator("#presence")).to_have_text("")

    sam_detail = open_live(sam, detail(token))
    expect(rita_detail.locator("#presence")).to_have_text("Also viewing: sam")
    expect(viewers).to_contain_text(re.compile(r"\brita, sam\b"))
    expect(sam_detail.locator("#presence")).to_have_text("Also viewing: rita")

    sam_detail.close()
    expect(rita_detail.locator("#presence")).to_have_text("")
    expect(viewers).not_to_contain_text(re.compile(r"\bsam\b"))
    expect(viewers).to_contain_text(re.compile(r"\brita\b"))
    assert_not_reloaded(rita_queue, rita_detail)


def test_a_page_reconnects_after_the_server_restarts_and_catches_up(
    app: LiveApp, people: Reviewers, live_sandbox: RunningSandbox, reviewer: Any
) -> None:
    first = live_sandbox.start_run(description="Resize the search cluster", timeout="1h")
    synced(first["tokenId"])
    queue = open_live(people.sign_in("rita"), "/")
    status = queue.locator("#live-status")
    expect(status).to_have_attribute("data-state", "live")
    expect_count(queue, 1)

    app.stop()
    expect(status).to_have_text("Reconnecting…")
    expect(status).to_have_attribute("data-state", "reconnecting")
    new = live_sandbox.start_run(description="Rotate the Stripe keys", timeout="2h")
    app.start()

    # The browser retries with jittered backoff: up to 1, 2, 4, 8 s... between attempts.
    expect(status).to_have_text("Live", timeout=40_000)
    expect(status).to_have_attribute("data-state", "live")
    expect(row(queue, new["tokenId"])).to_contain_text("Rotate the Stripe keys")
    expect(queue.locator("#queue-rows tr")).to_have_count(2)
    expect_count(queue, 2)
    assert_not_reloaded(queue)


def test_screenshots_after_live_updates(
    app: LiveApp,
    people: Reviewers,
    live_sandbox: RunningSandbox,
    reviewer: Any,
    second_reviewer: Any,
) -> None:
    """Not assertions: pictures of the pages after live updates, at desktop and phone widths,
    for a person to look at (var/screenshots/)."""
    deploy = live_sandbox.start_run(
        description="Deploy billing 2.4 to production",
        payload={"service": "billing", "version": "2.4.0"},
        timeout="1h",
    )
    refund = live_sandbox.start_run(description="Refund order 1042 (EUR 420.00)", timeout="2h")
    report = live_sandbox.start_run(description="Publish the quarterly report", timeout="3h")
    for ids in (deploy, refund, report):
        synced(ids["tokenId"])
    rita = people.sign_in("rita")
    sam = people.sign_in("sam")
    queue = open_live(rita, "/")
    open_live(sam, detail(refund["tokenId"]))  # a viewer in the queue
    sam_detail = open_live(sam, detail(deploy["tokenId"]))
    rita_detail = open_live(rita, detail(deploy["tokenId"]))
    rita_detail.get_by_label("Comment").fill("Canary is green, ship it")
    rita_detail.get_by_role("button", name="Approve", exact=True).click()
    expect(sam_detail.locator("#detail-state .state")).to_have_text("Approved")
    expect(rita_detail.locator("#run-card")).to_contain_text("COMPLETED")
    expect(rita_detail.locator("#presence")).to_have_text("Also viewing: sam")
    new = live_sandbox.start_run(description="Rotate the Stripe keys", timeout="4h")
    expect(row(queue, new["tokenId"])).to_have_class(FRESH)
    expect(row(queue, deploy["tokenId"])).to_have_class(LEAVING)
    expect(row(queue, refund["tokenId"]).locator(".viewing")).to_contain_text("sam")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, page in (("queue", queue), ("detail", rita_detail), ("pushed", sam_detail)):
        for width, height in ((1280, 860), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=SCREENSHOTS / f"live-{name}-{width}.png", full_page=True)
            print(f"{name} at {width} px:", _layout_report(page, width))


# Elements whose right edge passes the viewport (the outermost of each overflowing branch).
_OVERFLOWING = """(width) => Array.from(document.querySelectorAll("body *"))
  .filter((e) => e.getBoundingClientRect().right > width + 1
    && !(e.parentElement && e.parentElement.getBoundingClientRect().right > width + 1))
  .map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (e.className ? "." + String(e.className).trim().split(/\\s+/).join(".") : "")
    + " → " + Math.round(e.getBoundingClientRect().right) + " px")"""


def _layout_report(page: Page, width: int) -> str:
    """What a person should look at: the page's width, and what sticks out of the viewport."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width <= width:
        return "fits"
    sticking_out = page.evaluate(_OVERFLOWING, width)
    return f"page is {scroll_width} px wide; sticking out: {', '.join(sticking_out)}"


def test_a_new_row_in_a_full_page_takes_its_place_and_pushes_the_last_one_off(
    app: LiveApp, people: Reviewers, live_sandbox: RunningSandbox, reviewer: Any
) -> None:
    """The insert and the drop arrive as one message of table parts; the page keeps 25 rows,
    in the queue's order, as a reload would show them."""
    made = [
        live_sandbox.start_run(description=f"Rotate key {n}", timeout=f"{2 + n}h")
        for n in range(25)
    ]
    for ids in made:
        synced(ids["tokenId"])
    queue = open_live(people.sign_in("rita"), "/")
    expect(queue.locator("#queue-rows tr")).to_have_count(25)
    last = made[-1]["tokenId"]  # expires last: the last row of the first page
    expect(row(queue, last)).to_have_count(1)

    urgent = live_sandbox.start_run(description="Urgent: expires first", timeout="30m")

    first = queue.locator("#queue-rows tr").first
    expect(first).to_have_attribute("data-token-id", urgent["tokenId"])
    expect(first).to_have_class(FRESH)
    expect(row(queue, last)).to_have_count(0)  # now on page 2
    expect(queue.locator("#queue-rows tr")).to_have_count(25)
    expect_count(queue, 26)
    assert_not_reloaded(queue)
