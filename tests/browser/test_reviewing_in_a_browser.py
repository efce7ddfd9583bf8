"""A reviewer, in Chromium: signs in, works the queue, opens an approval, approves, rejects."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from approvals.models import Decision, Vote
from tests.browser.conftest import sign_in
from tests.factories import approval_for_sandbox_run, make_approval
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RITA_PASSWORD = "pw-rita-1234"


def _run_output(sandbox: Any, run_id: str) -> Any:
    return wait_until(lambda: sandbox.control("GET", f"runs/{run_id}")["output"], timeout=5)


def test_a_reviewer_signs_in_and_sees_the_queue(page: Any, reviewer: Any, tmp_path: Path) -> None:
    make_approval(description="Deploy billing 2.4 to production", requested_by="ed@example.com")
    make_approval(description="Publish the quarterly report", task_identifier="publish-article")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    sign_in(page, "rita", RITA_PASSWORD)
    expect(page.get_by_role("heading", name="Pending approvals")).to_be_visible()
    expect(page.locator("table.queue tbody tr")).to_have_count(2)
    expect(page.get_by_role("link", name="Deploy billing 2.4 to production")).to_be_visible()
    page.screenshot(path=tmp_path / "queue.png", full_page=True)


def test_search_updates_the_table_in_place_and_the_address(page: Any, reviewer: Any) -> None:
    make_approval(description="Rotate the Stripe keys")
    make_approval(description="Resize the search cluster")
    sign_in(page, "rita", RITA_PASSWORD)
    page.get_by_label("Search", exact=True).fill("stripe")
    expect(page.locator("table.queue tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="Rotate the Stripe keys")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?.*q=stripe"))


def test_a_reviewer_opens_an_approval_and_approves_it_with_a_comment(
    page: Any, reviewer: Any, live_sandbox: Any, tmp_path: Path
) -> None:
    ids = live_sandbox.start_run(payload={"service": "billing", "version": "2.4.0"})
    approval = approval_for_sandbox_run(
        ids,
        description="Deploy billing 2.4 to production",
        payload={"service": "billing", "version": "2.4.0"},
        run_tags=["needs-approval", "team:payments"],
    )
    sign_in(page, "rita", RITA_PASSWORD)
    page.get_by_role("link", name="Deploy billing 2.4 to production").click()
    expect(page).to_have_url(re.compile(f"/approvals/{approval.token_id}/$"))
    expect(page.locator("pre.json").first).to_contain_text('"version": "2.4.0"')
    page.screenshot(path=tmp_path / "detail.png", full_page=True)

    page.get_by_label("Comment").fill("Checked the canary, ship it")
    page.get_by_role("button", name="Approve", exact=True).click()
    panel = page.locator("#decision-panel")
    expect(panel).to_contain_text("Approved: Trigger.dev has resumed the run.")
    expect(panel).to_contain_text("Checked the canary, ship it")
    expect(panel.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    output = _run_output(live_sandbox, ids["runId"])
    assert output["decision"]["comments"] == "Checked the canary, ship it"
    assert output["decision"]["approvedBy"] == "rita@example.com"


def test_rejecting_needs_a_reason_and_then_reaches_trigger_dev(
    page: Any, reviewer: Any, live_sandbox: Any
) -> None:
    ids = live_sandbox.start_run()
    approval = approval_for_sandbox_run(ids)
    sign_in(page, "rita", RITA_PASSWORD, next_path=f"/approvals/{approval.token_id}/")
    page.get_by_role("button", name="Reject", exact=True).click()
    expect(page.locator(".reject-form .field-error")).to_have_text(
        "A reason is required to reject."
    )
    assert not Vote.objects.exists()

    page.get_by_label("Reason").fill("Not during the change freeze")
    page.get_by_role("button", name="Reject", exact=True).click()
    expect(page.locator("#decision-panel")).to_contain_text(
        "Rejected: Trigger.dev has resumed the run."
    )
    output = _run_output(live_sandbox, ids["runId"])
    assert output["status"] == "rejected"
    assert output["decision"]["reason"] == "Not during the change freeze"


def test_without_javascript_the_forms_post_and_redirect_with_a_message(
    chromium: Any, live_server: Any, reviewer: Any, live_sandbox: Any
) -> None:
    ids = live_sandbox.start_run()
    approval = approval_for_sandbox_run(ids)
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        sign_in(page, "rita", RITA_PASSWORD, next_path=f"/approvals/{approval.token_id}/")
        page.get_by_label("Comment").fill("No JavaScript needed")
        page.get_by_role("button", name="Approve", exact=True).click()
        expect(page.locator(".messages")).to_contain_text(
            "Approved: Trigger.dev has resumed the run."
        )
        expect(page).to_have_url(re.compile(f"/approvals/{approval.token_id}/$"))
    finally:
        context.close()
    assert Decision.objects.get(approval=approval).comment == "No JavaScript needed"


def test_without_javascript_the_queue_shows_no_selection_count_it_cannot_keep(
    chromium: Any, live_server: Any, reviewer: Any
) -> None:
    make_approval(description="Tick me")
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        sign_in(page, "rita", RITA_PASSWORD)
        page.locator('input[name="token_ids"]').first.check()
        expect(page.locator("[data-selected-count]")).to_be_hidden()
        expect(page.get_by_role("button", name="Approve selected")).to_be_visible()
    finally:
        context.close()


def test_a_form_that_arrives_in_a_swap_works_at_once(page: Any, reviewer: Any) -> None:
    """The bulk confirmation arrives by an htmx swap; its button, pressed the moment it is on
    the page, posts through htmx (a report in place), not as a full page. With htmx's default
    20 ms settle delay the new form was not yet bound then, and a quick click (seen in CI)
    reloaded the queue instead."""
    first = make_approval(description="First change")
    second = make_approval(description="Second change")
    sign_in(page, "rita", RITA_PASSWORD)
    page.evaluate("window.notReloaded = true")
    page.evaluate(
        """() => document.body.addEventListener("htmx:afterSwap", () => queueMicrotask(() => {
            const button = document.querySelector(".bulk-confirm button[name=confirmed]");
            if (!button || window.confirmedAtOnce) return;
            window.confirmedAtOnce = true;
            button.click();
        }))"""
    )
    page.get_by_label("Select all on this page").check()
    page.get_by_placeholder("Reason (required)").fill("Superseded")
    page.get_by_role("button", name="Reject selected").click()
    expect(page.locator(".bulk-report li.ok")).to_have_count(2, timeout=20_000)
    assert page.evaluate("window.confirmedAtOnce && window.notReloaded") is True
    assert set(Decision.objects.values_list("approval_id", flat=True)) == {first.pk, second.pk}


def test_bulk_reject_from_the_queue(page: Any, reviewer: Any, live_sandbox: Any) -> None:
    first = approval_for_sandbox_run(live_sandbox.start_run(), description="First change")
    second = approval_for_sandbox_run(live_sandbox.start_run(), description="Second change")
    sign_in(page, "rita", RITA_PASSWORD)
    expect(page.locator("[data-selected-count]")).to_have_text("0 selected")
    expect(page.locator("[data-selected-count]")).to_be_visible()
    page.get_by_label("Select all on this page").check()
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    page.get_by_role("button", name="Reject selected").click()
    expect(page.locator("#bulk-errors")).to_contain_text("A reason is required to reject.")
    # The failed action kept the selection.
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    page.get_by_placeholder("Reason (required)").fill("Superseded")
    page.get_by_role("button", name="Reject selected").click()
    page.locator(".bulk-confirm").get_by_role("button", name="Reject 2").click()
    # Two deliveries upstream first: more than the default 5 s on a machine running both legs.
    expect(page.locator(".bulk-report li.ok")).to_have_count(2, timeout=20_000)
    expect(page.get_by_text("Nothing is waiting for your decision.")).to_be_visible()
    assert set(Decision.objects.values_list("approval_id", flat=True)) == {first.pk, second.pk}
