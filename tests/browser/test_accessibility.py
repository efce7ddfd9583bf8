"""axe-core finds no WCAG 2.1 A/AA violation on any page, at desktop and phone widths.

axe-core comes from the npm registry (the ``axe_source`` fixture in conftest.py). The pages'
Content-Security-Policy forbids inline script, so ``page.add_script_tag`` (an inline
``<script>``) would be refused and reported as a CSP violation; ``page.evaluate`` runs the
source through the DevTools protocol, which the policy does not govern, so the pages are
checked exactly as served, policy included.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone
from playwright.sync_api import expect

from approvals.input_guard import permission_denied, server_error
from approvals.models import (
    ApprovalPolicy,
    ApprovalState,
    Vote,
)
from approvals.security import APP_POLICY
from tests.browser.conftest import sign_in
from tests.factories import make_approval, make_decided_approval

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RITA_PASSWORD = "pw-rita-1234"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """(tags) => axe.run(document, {
    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]
})"""
WIDTHS = [pytest.param(1280, id="desktop"), pytest.param(390, id="phone")]

# A token whose announced schema has a required choice, a number and a yes/no.
TYPED_SCHEMA = {
    "type": "object",
    "properties": {
        "environment": {
            "type": "string",
            "enum": ["staging", "production"],
            "title": "Environment",
            "description": "Where the release goes.",
        },
        "replicas": {"type": "integer", "minimum": 1, "maximum": 20, "title": "Replicas"},
        "notify": {"type": "boolean", "title": "Notify the on-call channel"},
    },
    "required": ["environment"],
}


def _violations(page: Any, axe_source: str) -> list[dict[str, Any]]:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    result: dict[str, Any] = page.evaluate(RUN_AXE, WCAG_21_AA)
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def _report(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"    {node['target']}: {node['failureSummary']}".replace("\n", " "))
    return "\n".join(lines)


def assert_accessible(page: Any, axe_source: str, width: int) -> None:
    """axe on the page as it is now, at ``width`` px."""
    page.set_viewport_size({"width": width, "height": 900})
    violations = _violations(page, axe_source)
    if violations:
        pytest.fail(f"axe on {page.url} at {width}px:\n{_report(violations)}", pytrace=False)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_sign_in_page(page: Any, axe_source: str, width: int) -> None:
    page.goto("/accounts/login/")
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_sign_in_page_after_a_wrong_password(
    page: Any, reviewer: Any, axe_source: str, width: int
) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_queue_with_rows(page: Any, reviewer: Any, axe_source: str, width: int) -> None:
    make_approval(description="Deploy billing 2.4 to production", requested_by="ed@example.com")
    make_approval(description="Rotate the keys", expires_at=timezone.now() + timedelta(minutes=20))
    make_approval(description="No deadline", expires_at=None)
    sign_in(page, "rita", RITA_PASSWORD)
    expect(page.locator("table.queue tbody tr")).to_have_count(3)
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_queue_after_a_failed_bulk_action(
    page: Any, reviewer: Any, axe_source: str, width: int
) -> None:
    make_approval(description="Deploy billing 2.4 to production")
    sign_in(page, "rita", RITA_PASSWORD)
    page.locator("table.queue tbody input[type=checkbox]").first.check()
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Reject selected").click()
    expect(page.locator("#bulk-reason[aria-invalid=true]")).to_be_visible()
    expect(page.locator("#queue-results .errorlist")).to_contain_text("A reason is required")
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_empty_queue(page: Any, reviewer: Any, axe_source: str, width: int) -> None:
    sign_in(page, "rita", RITA_PASSWORD)
    expect(page.locator("#queue-results .empty")).to_be_visible()
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_pending_approval_with_a_typed_form(
    page: Any, reviewer: Any, axe_source: str, width: int
) -> None:
    approval = make_approval(form_schema=TYPED_SCHEMA, context={"ticket": "OPS-12"})
    sign_in(page, "rita", RITA_PASSWORD, next_path=f"/approvals/{approval.token_id}/")
    expect(page.get_by_label("Environment")).to_be_visible()
    expect(page.get_by_label("Replicas")).to_be_visible()
    expect(page.get_by_label("Notify the on-call channel")).to_be_visible()
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_typed_form_showing_its_errors(
    page: Any, reviewer: Any, axe_source: str, width: int
) -> None:
    approval = make_approval(form_schema=TYPED_SCHEMA)
    sign_in(page, "rita", RITA_PASSWORD, next_path=f"/approvals/{approval.token_id}/")
    page.get_by_label("Replicas").fill("99")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator("#decision-panel .field-error").first).to_be_visible()
    page.get_by_role("button", name="Reject", exact=True).click()
    expect(page.locator("#decision-panel .field-error").first).to_be_visible()
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_decided_approval(page: Any, reviewer: Any, axe_source: str, width: int) -> None:
    approval = make_decided_approval(reviewer, "approve", "Checked the canary, ship it")
    sign_in(page, "rita", RITA_PASSWORD, next_path=f"/approvals/{approval.token_id}/")
    expect(page.locator("#decision-panel")).to_contain_text("Checked the canary, ship it")
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_an_approval_waiting_for_a_second_vote(
    page: Any, reviewer: Any, second_reviewer: Any, axe_source: str, width: int
) -> None:
    ApprovalPolicy.objects.create(name="Two keys", approvals_required=2, require_comment=True)
    approval = make_approval(expires_at=timezone.now() + timedelta(minutes=10))
    Vote.objects.create(
        approval=approval, actor=second_reviewer, verdict="approve", comment="Looks fine to me"
    )
    sign_in(page, "rita", RITA_PASSWORD, next_path=f"/approvals/{approval.token_id}/")
    expect(page.locator("#decision-panel")).to_contain_text("1 of 2")
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_an_approval_that_timed_out(page: Any, reviewer: Any, axe_source: str, width: int) -> None:
    approval = make_approval(
        state=ApprovalState.TIMED_OUT,
        expires_at=timezone.now() - timedelta(minutes=5),
        closed_at=timezone.now(),
        closed_reason="token timed out",
    )
    sign_in(page, "rita", RITA_PASSWORD, next_path=f"/approvals/{approval.token_id}/")
    expect(page.locator("#decision-panel")).to_be_visible()
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_history_on_two_pages(page: Any, reviewer: Any, axe_source: str, width: int) -> None:
    # One more than a page: the pager shows, its "← Previous" not a link.
    for _ in range(26):
        make_approval(
            state=ApprovalState.TIMED_OUT, closed_at=timezone.now(), closed_reason="timed out"
        )
    sign_in(page, "rita", RITA_PASSWORD, next_path="/history/")
    expect(page.locator(".pager .disabled")).to_be_visible()
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_queue_with_a_current_row(
    page: Any, reviewer: Any, axe_source: str, width: int
) -> None:
    # The keyboard's current row is tinted: its muted text and links must still read.
    make_approval(description="Deploy billing 2.4 to production")
    make_approval(description="Rotate the keys", expires_at=timezone.now() + timedelta(minutes=9))
    sign_in(page, "rita", RITA_PASSWORD)
    page.keyboard.press("j")
    expect(page.locator("table.queue tbody tr.current")).to_have_count(1)
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_queue_for_someone_who_may_not_decide(
    page: Any, outsider: Any, axe_source: str, width: int
) -> None:
    make_approval(description="Deploy billing 2.4 to production")
    sign_in(page, "otto", "pw-otto-1234", next_path="/?show=all")
    expect(page.locator("table.queue tbody tr")).to_have_count(1)
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_keyboard_shortcuts_list(page: Any, reviewer: Any, axe_source: str, width: int) -> None:
    make_approval()
    sign_in(page, "rita", RITA_PASSWORD)
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_history_with_rows(page: Any, reviewer: Any, axe_source: str, width: int) -> None:
    make_decided_approval(reviewer, "approve", "Ship it")
    make_decided_approval(reviewer, "reject", "Not during the freeze")
    make_approval(
        state=ApprovalState.TIMED_OUT,
        closed_at=timezone.now(),
        closed_reason="token timed out",
    )
    sign_in(page, "rita", RITA_PASSWORD, next_path="/history/")
    expect(page.locator("table.history tbody tr")).to_have_count(3)
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_not_found_page_signed_out(page: Any, axe_source: str, width: int) -> None:
    response = page.goto("/no-such-page/")
    assert response.status == 404
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_not_found_page(page: Any, reviewer: Any, axe_source: str, width: int) -> None:
    sign_in(page, "rita", RITA_PASSWORD)
    response = page.goto("/approvals/waitpoint_nobody_knows/")
    assert response.status == 404
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_method_not_allowed_page(page: Any, reviewer: Any, axe_source: str, width: int) -> None:
    # A browser cannot navigate with DELETE: the answer is fetched with the tab's cookies
    # (and its CSRF token, so the view, not the CSRF check, answers) and shown in the tab.
    sign_in(page, "rita", RITA_PASSWORD)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    answer = page.request.fetch("/history/", method="DELETE", headers={"X-CSRFToken": token})
    assert answer.status == 405
    _show(page, "/history/", answer.status, answer.headers, answer.body())
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page, axe_source, width)


def _handler_answer(response: HttpResponse) -> tuple[int, dict[str, str], bytes]:
    # What the middleware would add: the handlers are called here without it.
    headers = {"Content-Type": response["Content-Type"], "Content-Security-Policy": APP_POLICY}
    return response.status_code, headers, response.content


@pytest.mark.parametrize("width", WIDTHS)
def test_the_forbidden_page(page: Any, reviewer: Any, axe_source: str, width: int) -> None:
    request = RequestFactory().get("/admin/approvals/")
    request.user = reviewer
    status, headers, body = _handler_answer(permission_denied(request, PermissionDenied()))
    assert status == 403
    _show(page, "/forbidden-page/", status, headers, body)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page, axe_source, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_server_error_page(page: Any, axe_source: str, width: int) -> None:
    status, headers, body = _handler_answer(server_error(RequestFactory().get("/")))
    assert status == 500
    _show(page, "/broken-page/", status, headers, body)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page, axe_source, width)


def _show(page: Any, path: str, status: int, headers: dict[str, str], body: bytes) -> None:
    """Open ``path`` in the tab with this answer (the stylesheet and scripts still load from
    the live server)."""
    page.route(
        f"**{path}",
        lambda route: route.fulfill(status=status, headers=headers, body=body),
    )
    assert page.goto(path).status == status
