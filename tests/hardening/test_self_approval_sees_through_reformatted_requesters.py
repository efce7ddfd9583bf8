"""The self-approval rule matches the requester however the task wrote the address: display
names, ``mailto:``, case, zero-width characters, full-width ``＠``."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.policies import refusal_reason
from tests.factories import make_approval

SELF = "You requested this run, and may not approve it yourself."


def _variants(email: str) -> list[str]:
    local, domain = email.split("@")
    return [
        email,
        email.upper(),
        f"Rev Iewer <{email}>",
        f'"Iewer, Rev" <{email}>',
        f"{email}\u200b",
        f"\u200b{local}@{domain}\u2060",
        f"mailto:{email}",
        f"MAILTO:{email}?subject=refund",
        f"{local}＠{domain}",
        f"  {email}\u00ad ",
        f"<<{email}>>",  # not an address at all, but it names the reviewer: still refused
    ]


@pytest.mark.parametrize("index", range(11))
def test_a_reformatted_requester_may_not_approve_their_own_run(
    db: None, reviewer: Any, index: int
) -> None:
    requested_by = _variants(reviewer.email)[index]
    approval = make_approval(requested_by=requested_by)

    assert refusal_reason(user=reviewer, approval=approval) == SELF


@pytest.mark.parametrize("requested_by", ["", "???", "someone@@example", "other@example.com"])
def test_an_unknown_or_other_requester_does_not_block_the_reviewer(
    db: None, reviewer: Any, requested_by: str
) -> None:
    approval = make_approval(requested_by=requested_by)

    assert refusal_reason(user=reviewer, approval=approval) is None


def test_the_page_shows_invisible_characters_in_the_requester(db: None, reviewer: Any) -> None:
    approval = make_approval(requested_by="boss@example.com\u200b")
    client = Client()
    client.force_login(reviewer)

    page = client.get(f"/approvals/{approval.token_id}/").content.decode()

    assert "boss@example.com\\u200b" in page
