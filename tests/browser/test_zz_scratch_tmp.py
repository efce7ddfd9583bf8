from __future__ import annotations
import time, json
from typing import Any
import pytest
from playwright.sync_api import expect
from tests.browser.test_live_updates import app, people, synced, detail, row  # noqa
from tests.browser.live_app import open_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_scratch(app, people, live_sandbox, reviewer, second_reviewer) -> None:
    print("clock", live_sandbox.control("GET", "clock"), time.time())
    deploy = live_sandbox.start_run(description="Deploy billing 2.4 to production", timeout="1h")
    a = synced(deploy["tokenId"])
    print("first_seen", a.first_seen_at, "created", a.created_at)
    t0 = time.monotonic()
    rita = people.sign_in("rita")
    print("sign in", time.monotonic() - t0)
    for path in ("/", "/history/", detail(deploy["tokenId"])):
        p = rita.new_page()
        p.set_viewport_size({"width": 390, "height": 844})
        p.goto(path)
        p.wait_for_timeout(500)
        print(
            path,
            p.evaluate("document.documentElement.scrollWidth"),
            p.evaluate(
                """Array.from(document.querySelectorAll('header *, .table-head *')).filter(e => e.getBoundingClientRect().right > 392).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).join(' | ')"""
            ),
        )
        p.close()
    page = open_live(rita, detail(deploy["tokenId"]))
    page.evaluate(
        """window.seen = []; new MutationObserver(() => { const p = document.querySelector('#decision-panel'); window.seen.push((performance.now()|0) + ' ' + (p ? p.innerText.replace(/\\s+/g,' ').slice(0,160) : 'none')); }).observe(document.body, {subtree: true, childList: true, characterData: true});"""
    )
    page.evaluate("""window.log = []; const t = () => (performance.now()|0);
    ['htmx:beforeRequest','htmx:beforeSwap','htmx:afterSwap','htmx:afterRequest','htmx:swapError','htmx:targetError','htmx:wsAfterMessage','htmx:oobErrorNoTarget','htmx:responseError'].forEach(n => document.addEventListener(n, e => { const d = e.detail || {}; window.log.push(t() + ' ' + n + ' target=' + (d.target ? d.target.id + ' connected=' + d.target.isConnected : '-') + ' elt=' + (e.target && e.target.tagName) + ' connected=' + (e.target && e.target.isConnected) + (d.xhr ? ' status=' + d.xhr.status + ' body=' + d.xhr.responseText.replace(/\\s+/g,' ').slice(0, 200) : '') + (d.message ? ' msg=' + String(d.message).replace(/\\s+/g,' ').slice(0,120) : '')); }));""")
    page.get_by_label("Comment").fill("ok")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator("#run-card")).to_contain_text("COMPLETED")
    page.wait_for_timeout(1500)
    for s in page.evaluate("window.seen"):
        print(s)
    for s in page.evaluate("window.log"):
        print(s)
    print("tokens table live:", page.locator("table.compact").inner_text())
    page.reload()
    print("tokens table reload:", page.locator("table.compact").inner_text())
    print("panel after reload:", page.locator("#decision-panel").inner_text())
