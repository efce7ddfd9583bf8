"""One limit for a comment or reason, wherever it is written (it used to be 10,000 characters
in the API and the README but 5,000 in every form field)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import QueryDict
from django.test import Client

from approvals import limits
from approvals.api.openapi import description
from approvals.decisions import MAX_TEXT_LENGTH
from approvals.forms import ApproveForm, BulkDecisionForm, RejectForm
from tests.factories import make_approval

pytestmark = pytest.mark.django_db


def test_forms_the_service_and_the_api_description_share_the_comment_limit() -> None:
    assert MAX_TEXT_LENGTH == limits.COMMENT_MAX
    assert ApproveForm().fields["comment"].max_length == limits.COMMENT_MAX  # type: ignore[attr-defined]
    assert RejectForm().fields["reason"].max_length == limits.COMMENT_MAX  # type: ignore[attr-defined]
    assert BulkDecisionForm(QueryDict()).fields["reason"].max_length == limits.COMMENT_MAX  # type: ignore[attr-defined]
    text = str(description())
    assert f"'maxLength': {limits.COMMENT_MAX}" in text


def test_the_pages_maxlength_is_the_same_limit(reviewer: Any) -> None:
    make_approval()  # the bulk form shows with rows to tick
    client = Client()
    client.force_login(reviewer)

    page = client.get("/").content.decode()

    assert f'maxlength="{limits.COMMENT_MAX}"' in page
    assert 'maxlength="5000"' not in page
