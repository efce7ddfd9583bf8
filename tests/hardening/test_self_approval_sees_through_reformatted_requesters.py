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


def _hidden(email: str) -> dict[str, str]:
    local, domain = email.split("@")
    encoded_local = "".join(f"%{ord(ch):02x}" for ch in local)
    return {
        "mailto with an encoded @": f"mailto:{local}%40{domain}",
        "mailto with an encoded local part": f"mailto:{encoded_local}@{domain}",
        "a variation selector": f"{email}\ufe0f",
        "a combining grapheme joiner": f"{local}\u034f@{domain}",
        "a hangul filler": f"\u3164{email}",
        "a mongolian free variation selector": f"{email}\u180b",
        "a trailing dot on the domain": f"{email}.",
        "second of two addresses": f"other@example.com, {email}",
        "second of two named addresses": f"Other <other@example.com>, Rev <{email}>",
    }


@pytest.mark.parametrize("case", list(_hidden("rita@example.com")))
def test_a_requester_behind_encodings_or_ignorable_characters_may_not_approve(
    db: None, reviewer: Any, case: str
) -> None:
    approval = make_approval(requested_by=_hidden(reviewer.email)[case])

    assert refusal_reason(user=reviewer, approval=approval) == SELF


def test_the_page_shows_ignorable_characters_and_flags_an_unrecognisable_requester(
    db: None, reviewer: Any
) -> None:
    client = Client()
    client.force_login(reviewer)
    shown = make_approval(requested_by="boss@example.com\ufe0f\u3164")
    unknown = make_approval(requested_by="???")
    known = make_approval(requested_by="Boss <boss@example.com>")

    page = client.get(f"/approvals/{shown.token_id}/").content.decode()
    assert "boss@example.com\\ufe0f\\u3164" in page
    flag = "not a recognisable address or username"
    assert flag in client.get(f"/approvals/{unknown.token_id}/").content.decode()
    assert flag not in client.get(f"/approvals/{known.token_id}/").content.decode()
