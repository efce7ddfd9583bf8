"""An email's Approve and Reject links (``/approvals/<id>/?confirm=approve``) decide nothing:
they open the approval's page with a note above it and the focus on that verdict's form, and
only the form's button (a POST with CSRF) decides. Someone who cannot give that verdict, or
comes too late, is told why there is nothing to confirm."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from approvals.models import (
    Approval,
    ApprovalPolicy,
    ApprovalState,
    Decision,
    DeliveryState,
    Verdict,
    Vote,
)
from approvals.notify.messages import page_url
from tests.factories import approval_for_sandbox_run, make_approval, make_decided_approval
from tests.waiting import wait_until

READY = 'class="confirm-note confirm-ready"'
CLOSED = 'class="confirm-note confirm-closed"'


def signed_in(user: Any, **options: Any) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


def link(approval: Approval, verdict: str) -> str:
    """The link as the email has it, without its origin."""
    return f"/approvals/{approval.token_id}/?confirm={verdict}"


def note(page: str) -> str:
    found = re.search(r'<p class="confirm-note[^"]*"[^>]*>(.*?)</p>', page, re.S)
    assert found is not None, "no confirm note on the page"
    return re.sub(r"<[^>]+>", "", found.group(1))


def tag_with_id(page: str, element_id: str) -> str:
    found = re.search(rf'<[a-z]+ [^>]*id="{re.escape(element_id)}"[^>]*>', page)
    assert found is not None, element_id
    return found.group(0)


def test_the_emails_links_are_the_ones_these_tests_follow(db: None, settings: Any) -> None:
    settings.APPROVALS_BASE_URL = "https://approvals.example.com"
    approval = make_approval()
    for verdict in ("approve", "reject"):
        assert page_url(approval, verdict) == "https://approvals.example.com" + link(
            approval, verdict
        )


# --- Following a link decides nothing --------------------------------------------------------


@pytest.mark.parametrize(
    ("verdict", "word", "focused"),
    [("approve", "Approve", "id_approve-comment"), ("reject", "Reject", "id_reject-reason")],
)
def test_following_a_link_decides_nothing_and_asks_to_confirm_on_the_form(
    reviewer: Any, verdict: str, word: str, focused: str
) -> None:
    approval = make_approval(description="Deploy billing 2.4 to production")
    response = signed_in(reviewer).get(link(approval, verdict))
    page = response.content.decode()
    assert response.status_code == 200
    assert READY in page
    assert note(page) == (
        f"You followed the {word} link from an email. Check the request below, then press"
        f" {word} to confirm: the link alone decides nothing."
    )
    # The focus goes to that verdict's first field, which a screen reader reads with the note.
    field = tag_with_id(page, focused)
    assert " autofocus" in field
    assert 'aria-describedby="confirm-note"' in field
    assert page.count("autofocus") == 1
    assert f'data-decide="{verdict}"' in page
    assert not Vote.objects.exists()
    assert not Decision.objects.exists()
    approval.refresh_from_db()
    assert approval.state == ApprovalState.PENDING


def test_the_first_field_of_a_typed_form_takes_the_focus(reviewer: Any) -> None:
    schema = {
        "type": "object",
        "properties": {"replicas": {"type": "integer", "minimum": 1, "title": "Replicas"}},
        "required": ["replicas"],
    }
    approval = make_approval(form_schema=schema)
    page = signed_in(reviewer).get(link(approval, "approve")).content.decode()
    assert " autofocus" in tag_with_id(page, "id_approve-field_replicas")
    assert " autofocus" not in tag_with_id(page, "id_approve-comment")


@pytest.mark.parametrize("value", ["", "yes", "APPROVE", "approve ", "delete"])
def test_any_other_confirm_value_is_ignored(reviewer: Any, value: str) -> None:
    approval = make_approval()
    page = signed_in(reviewer).get(f"/approvals/{approval.token_id}/?confirm={value}")
    body = page.content.decode()
    assert page.status_code == 200
    assert "confirm-note" not in body
    assert "autofocus" not in body
    assert 'data-decide="approve"' in body  # the page as usual


def test_the_page_without_a_link_has_no_note(reviewer: Any) -> None:
    approval = make_approval()
    body = signed_in(reviewer).get(f"/approvals/{approval.token_id}/").content.decode()
    assert "confirm-note" not in body
    assert "autofocus" not in body


@pytest.mark.usefixtures("transactional_db")
def test_pressing_approve_after_the_link_decides_as_usual(reviewer: Any, live_sandbox: Any) -> None:
    ids = live_sandbox.start_run()
    approval = approval_for_sandbox_run(ids)
    rita = signed_in(reviewer, enforce_csrf_checks=True)
    page = rita.get(link(approval, "approve")).content.decode()
    action = re.search(r'<form method="post" action="([^"]+)"[^>]*data-decide="approve"', page)
    assert action is not None
    assert action.group(1) == f"/approvals/{approval.token_id}/approve"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None

    # Without the form's CSRF token (a page elsewhere posting for her): refused, nothing decided.
    assert rita.post(action.group(1), {"approve-comment": "forged"}).status_code == 403
    assert not Vote.objects.exists()

    response = rita.post(
        action.group(1),
        {"csrfmiddlewaretoken": token.group(1), "approve-comment": "Checked, ship it"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/approvals/{approval.token_id}/"
    decision = Decision.objects.get(approval=approval)
    assert (decision.verdict, decision.actor, decision.comment) == (
        Verdict.APPROVE,
        reviewer,
        "Checked, ship it",
    )
    output = wait_until(
        lambda: live_sandbox.control("GET", f"runs/{ids['runId']}")["output"], timeout=5
    )
    assert output["status"] == "approved"
    assert Decision.objects.get(approval=approval).delivery_state == DeliveryState.DELIVERED
    after = rita.get(response["Location"]).content.decode()
    assert "confirm-note" not in after


# --- Nothing to confirm ----------------------------------------------------------------------


@pytest.mark.parametrize("verdict", ["approve", "reject"])
def test_someone_without_the_right_sees_no_button_and_is_told_why(
    outsider: Any, verdict: str
) -> None:
    approval = make_approval()
    page = signed_in(outsider).get(link(approval, verdict)).content.decode()
    assert READY not in page
    assert CLOSED in page
    word = verdict.capitalize()
    assert note(page) == (
        f"You followed the {word} link from an email, but you cannot {verdict} it."
        " You do not have permission to decide approvals."
    )
    assert 'data-decide="approve"' not in page
    assert 'data-decide="reject"' not in page
    assert f'<button type="submit" class="{verdict}">' not in page
    assert "autofocus" not in page


def test_the_requester_may_not_approve_their_own_run_but_may_withdraw_it(reviewer: Any) -> None:
    approval = make_approval(requested_by="rita@example.com")
    rita = signed_in(reviewer)
    approve = rita.get(link(approval, "approve")).content.decode()
    assert CLOSED in approve
    assert "but you cannot approve it. You requested this run" in note(approve)
    assert 'data-decide="approve"' not in approve
    assert "autofocus" not in approve
    reject = rita.get(link(approval, "reject")).content.decode()
    assert READY in reject
    assert " autofocus" in tag_with_id(reject, "id_reject-reason")


@pytest.mark.parametrize("verdict", ["approve", "reject"])
def test_a_decided_approval_has_nothing_to_confirm(
    reviewer: Any, second_reviewer: Any, verdict: str
) -> None:
    approval = make_decided_approval(second_reviewer, "approve", "Looks fine")
    page = signed_in(reviewer).get(link(approval, verdict)).content.decode()
    assert READY not in page
    assert "press" not in note(page)
    assert "this approval is already decided: there is nothing to confirm." in note(page)
    assert "Approved</strong> by sam" in page
    assert 'data-decide="' not in page
    assert "autofocus" not in page
    assert Decision.objects.get(approval=approval).actor == second_reviewer


def test_an_approval_that_left_the_queue_has_nothing_to_confirm(reviewer: Any) -> None:
    approval = make_approval(
        state=ApprovalState.TIMED_OUT,
        expires_at=timezone.now() - timedelta(minutes=5),
        closed_at=timezone.now(),
    )
    page = signed_in(reviewer).get(link(approval, "approve")).content.decode()
    assert "this approval no longer waits for a decision" in note(page)
    assert 'data-decide="' not in page


def test_an_approval_past_its_deadline_has_nothing_to_confirm(reviewer: Any) -> None:
    approval = make_approval(expires_at=timezone.now() - timedelta(seconds=5))
    page = signed_in(reviewer).get(link(approval, "reject")).content.decode()
    assert "this approval has expired: it can no longer be decided." in note(page)
    assert 'data-decide="' not in page


def test_a_reviewer_who_already_voted_has_nothing_more_to_confirm(reviewer: Any) -> None:
    ApprovalPolicy.objects.create(name="Two keys", approvals_required=2)
    approval = make_approval()
    Vote.objects.create(approval=approval, actor=reviewer, verdict="approve", comment="")
    page = signed_in(reviewer).get(link(approval, "approve")).content.decode()
    assert "you already approved it: there is nothing more to confirm." in note(page)
    assert 'data-decide="' not in page
    assert Vote.objects.count() == 1
