"""Every ``aria-describedby`` names elements that are on the page, and every invalid field
is described by its error: a screen reader reads the help and the error with the field.

An id that points nowhere is silently ignored by assistive technology, so the field's error
is never read; the detail and queue pages are checked with and without errors, as full pages
and as the htmx answers that replace their panels.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from tests.factories import make_approval
from tests.pages.conftest import HTMX

pytestmark = pytest.mark.django_db

TYPED_SCHEMA = {
    "type": "object",
    "properties": {
        "environment": {
            "type": "string",
            "enum": ["staging", "production"],
            "description": "Where the release goes.",
        },
        "replicas": {"type": "integer", "minimum": 1, "maximum": 20},
        "notify": {"type": "boolean", "description": "Tell the on-call channel."},
    },
    "required": ["environment"],
}


class _Page(HTMLParser):
    """The ids on a page, the text inside each, and the elements that refer to ids."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.described: list[tuple[str, dict[str, str]]] = []
        self.texts: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "id" in values:
            self.ids.add(values["id"])
            self.texts[values["id"]] = ""
        if "aria-describedby" in values or values.get("aria-invalid") == "true":
            self.described.append((tag, values))
        if tag not in ("input", "br", "meta", "link", "img", "hr"):
            self._open.append((tag, values.get("id")))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            opened, _ = self._open.pop()
            if opened == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, element_id in self._open:
            if element_id is not None:
                self.texts[element_id] += data


def _parse(body: bytes) -> _Page:
    page = _Page()
    page.feed(body.decode())
    return page


def assert_descriptions_exist(body: bytes) -> _Page:
    page = _parse(body)
    for tag, attrs in page.described:
        referred = attrs.get("aria-describedby", "").split()
        missing = [ref for ref in referred if ref not in page.ids]
        assert not missing, f"<{tag} {attrs}> is described by missing ids {missing}"
        if attrs.get("aria-invalid") == "true":
            assert referred, f"<{tag} {attrs}> is invalid but describes no error"
            assert any(page.texts[ref].strip() for ref in referred), (tag, attrs)
    return page


def _invalid(page: _Page) -> dict[str, str]:
    """Each invalid field's name, with the text of what describes it."""
    return {
        attrs.get("name", ""): " ".join(
            page.texts[ref].strip() for ref in attrs.get("aria-describedby", "").split()
        )
        for _, attrs in page.described
        if attrs.get("aria-invalid") == "true"
    }


def test_a_typed_form_describes_its_fields_with_their_help(rita: Client) -> None:
    approval = make_approval(form_schema=TYPED_SCHEMA)
    page = assert_descriptions_exist(rita.get(f"/approvals/{approval.token_id}/").content)
    described = {attrs.get("name"): attrs["aria-describedby"] for _, attrs in page.described}
    assert described == {
        "approve-field_environment": "id_approve-field_environment_helptext",
        "approve-field_notify": "id_approve-field_notify_helptext",
    }
    assert page.texts["id_approve-field_environment_helptext"] == "Where the release goes."
    assert _invalid(page) == {}


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_an_approve_with_errors_describes_each_invalid_field_with_its_error(
    rita: Client, headers: dict[str, Any]
) -> None:
    approval = make_approval(form_schema=TYPED_SCHEMA)
    response = rita.post(
        f"/approvals/{approval.token_id}/approve", {"approve-field_replicas": "99"}, **headers
    )
    assert response.status_code == 400
    page = assert_descriptions_exist(response.content)
    invalid = _invalid(page)
    assert set(invalid) == {"approve-field_environment", "approve-field_replicas"}
    assert invalid["approve-field_environment"] == "Where the release goes. This field is required."
    assert "less than or equal to 20" in invalid["approve-field_replicas"]


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_reject_without_a_reason_describes_the_reason_with_its_error(
    rita: Client, headers: dict[str, Any]
) -> None:
    approval = make_approval()
    response = rita.post(
        f"/approvals/{approval.token_id}/reject", {"reject-reason": " "}, **headers
    )
    assert response.status_code == 400
    page = assert_descriptions_exist(response.content)
    assert _invalid(page) == {"reject-reason": "A reason is required to reject."}


def test_the_queue_describes_nothing_that_is_missing(rita: Client) -> None:
    make_approval()
    page = assert_descriptions_exist(rita.get("/").content)
    assert _invalid(page) == {}


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_bulk_reject_without_a_reason_describes_the_reason_with_its_error(
    rita: Client, headers: dict[str, Any]
) -> None:
    approval = make_approval()
    response = rita.post(
        "/bulk/", {"token_ids": [approval.token_id], "verdict": "reject"}, **headers
    )
    page = assert_descriptions_exist(response.content)
    invalid = _invalid(page)
    assert list(invalid) == ["reason"]
    assert "A reason is required to reject." in invalid["reason"]


def test_the_login_form_describes_nothing_that_is_missing(client: Client) -> None:
    assert_descriptions_exist(client.get("/accounts/login/").content)
    assert_descriptions_exist(
        client.post("/accounts/login/", {"username": "nobody", "password": "wrong"}).content
    )
