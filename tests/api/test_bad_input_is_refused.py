"""Bad input gets a clear 4xx with a JSON body, and nothing is saved."""

from __future__ import annotations

import pytest

from approvals.models import Decision, Vote
from tests.decisions.helpers import make_policy
from tests.factories import make_approval

pytestmark = pytest.mark.django_db


@pytest.fixture
def approval(db):
    return make_approval()


def assert_nothing_saved():
    assert not Vote.objects.exists()
    assert not Decision.objects.exists()


def test_reject_without_a_reason(api, approval):
    response = api.post(f"/api/approvals/{approval.token_id}/reject", {})

    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "message": "A reason is required to reject.",
        "code": "invalid",
        "errors": {"reason": "A reason is required to reject."},
    }
    assert_nothing_saved()


def test_one_megabyte_comment_is_too_large(api, approval):
    response = api.post(f"/api/approvals/{approval.token_id}/approve", {"comments": "x" * 2**20})

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert_nothing_saved()


def test_comment_over_the_length_limit(api, approval):
    response = api.post(f"/api/approvals/{approval.token_id}/approve", {"comments": "x" * 10_001})

    assert response.status_code == 400
    assert "comments" in response.json()["errors"]
    assert_nothing_saved()


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b'"a string"', b"[1, 2]"])
def test_malformed_json(api, approval, raw):
    response = api.post(f"/api/approvals/{approval.token_id}/reject", raw=raw)

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert_nothing_saved()


@pytest.mark.parametrize(
    "body",
    [{"comments": 42}, {"comments": ["a"]}, {"comments": None, "fields": "x"}, {"fields": [1]}],
)
def test_wrong_types(api, approval, body):
    response = api.post(f"/api/approvals/{approval.token_id}/approve", body)

    assert response.status_code == 400
    assert response.json()["errors"]
    assert_nothing_saved()


def test_the_acting_user_cannot_be_named_in_the_body(api, approval):
    response = api.post(
        f"/api/approvals/{approval.token_id}/approve", {"approvedBy": "ceo@example.com"}
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"approvedBy": "Not accepted."}
    assert_nothing_saved()


def test_unknown_fields_are_named(api, approval):
    response = api.post(f"/api/approvals/{approval.token_id}/reject", {"reason": "x", "why": 1})

    assert response.status_code == 400
    assert response.json()["errors"] == {"why": "Unknown field."}


def test_unknown_token_is_404(api, db):
    response = api.post("/api/approvals/waitpoint_unknown/approve", {})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_policy_forbidding_the_caller_is_403(api, approval):
    make_policy(groups=("Release managers",))

    response = api.post(f"/api/approvals/{approval.token_id}/approve", {})

    assert response.status_code == 403
    assert "Release managers" in response.json()["message"]
    assert_nothing_saved()


def test_wrong_method_is_405(api, approval):
    response = api.get(f"/api/approvals/{approval.token_id}/approve")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
