"""An announced form (JSON Schema) is shown whole, or approving is refused visibly; never
approved with part of it dropped. Before, a schema over 256 KB was cut and a decision went
out without its required field; an enum without a type, or more than 30 fields, could never
be approved; a wrong choice among 20,000 answered with a 189 KB error."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.decisions import InvalidDecision, NotPermitted, decide
from approvals.envelopes import FORM_TOO_LARGE, validate_fields
from approvals.forms import ApproveForm
from approvals.sync import capped_json
from tests.factories import make_approval

pytestmark = pytest.mark.django_db


def _huge_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["ticket"],
        "properties": {"ticket": {"type": "string", "description": "x" * 300_000}},
    }


def test_a_schema_cut_by_the_sync_blocks_approving_and_says_why(reviewer: Any) -> None:
    stored, _text = capped_json(_huge_schema())  # what the sync keeps: a marked preview
    approval = make_approval(form_schema=stored)

    with pytest.raises(NotPermitted) as refused:
        decide(token_id=approval.token_id, actor=reviewer, verdict="approve", deliver_now=False)

    assert refused.value.message == FORM_TOO_LARGE
    client = Client()
    client.force_login(reviewer)
    page = client.get(f"/approvals/{approval.token_id}/").content.decode()
    assert "form is too large to show here" in page.replace("&#x27;", "'")
    result = decide(
        token_id=approval.token_id, actor=reviewer, verdict="reject", comment="too big",
        deliver_now=False,
    )  # fmt: skip
    assert result.decision is not None


def test_an_enum_without_a_type_can_be_approved(reviewer: Any) -> None:
    schema = {"required": ["env"], "properties": {"env": {"enum": ["staging", "prod", 3]}}}
    approval = make_approval(form_schema=schema)

    result = decide(
        token_id=approval.token_id, actor=reviewer, verdict="approve", fields={"env": 3},
        deliver_now=False,
    )  # fmt: skip

    assert result.decision is not None and result.decision.envelope["env"] == 3


def test_thirty_fields_are_all_shown_and_thirty_one_refuse_approving(reviewer: Any) -> None:
    def schema(n: int) -> dict[str, Any]:
        return {"properties": {f"f{i}": {"type": "string"} for i in range(n)}}

    assert len(ApproveForm(schema=schema(30)).schema_bound_fields) == 30
    approval = make_approval(form_schema=schema(31))
    with pytest.raises(NotPermitted):
        decide(token_id=approval.token_id, actor=reviewer, verdict="approve", deliver_now=False)


def test_a_wrong_choice_gets_a_short_error_and_a_huge_list_is_refused(reviewer: Any) -> None:
    fifty = {"properties": {"code": {"type": "string", "enum": [f"c{i}" for i in range(50)]}}}
    _clean, errors = validate_fields(fifty, {"code": "nope"})
    assert errors["code"] == "Choose one of the 50 listed options."

    options = [f"option-{i}" for i in range(20_000)]
    approval = make_approval(form_schema={"properties": {"code": {"enum": options}}})
    with pytest.raises(NotPermitted) as refused:
        decide(
            token_id=approval.token_id, actor=reviewer, verdict="approve",
            fields={"code": "nope"}, deliver_now=False,
        )  # fmt: skip
    assert len(refused.value.message) < 300


def test_a_required_choice_starts_blank_and_must_be_made(reviewer: Any) -> None:
    schema = {"required": ["env"], "properties": {"env": {"type": "string", "enum": ["a", "b"]}}}
    form = ApproveForm(schema=schema)
    assert form.fields["field_env"].choices[0] == ("", "Choose…")  # type: ignore[attr-defined]

    approval = make_approval(form_schema=schema)
    with pytest.raises(InvalidDecision) as invalid:
        decide(token_id=approval.token_id, actor=reviewer, verdict="approve", deliver_now=False)
    assert invalid.value.field_errors == {"env": "This field is required."}


def test_a_required_field_the_form_cannot_show_blocks_approving(reviewer: Any) -> None:
    schema = {"required": ["items"], "properties": {"items": {"type": "array"}}}
    approval = make_approval(form_schema=schema)

    with pytest.raises(NotPermitted) as refused:
        decide(token_id=approval.token_id, actor=reviewer, verdict="approve", deliver_now=False)

    assert "cannot show (items)" in refused.value.message


def test_only_the_supported_keywords_are_run(reviewer: Any) -> None:
    """A task's own regular expression ("pattern", here a catastrophic one) is never run."""
    schema = {
        "properties": {
            "code": {"type": "string", "pattern": "^(a+)+$", "maxLength": 100},
            "n": {"type": "integer", "minimum": 2, "$ref": "#/nowhere"},
        }
    }

    clean, errors = validate_fields(schema, {"code": "a" * 60 + "!", "n": 1})

    assert errors == {"n": "Enter a number of at least 2."}
    assert clean == {"code": "a" * 60 + "!"}


def _nan_maximum() -> dict[str, Any]:
    """A field whose ``maximum`` was NaN: the sync stores it as null."""
    stored, _text = capped_json({"type": "number", "maximum": float("nan")})
    return stored  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "schema",
    [
        pytest.param({"required": ["ticket"], "properties": {}}, id="required but not listed"),
        pytest.param({"required": ["ticket"]}, id="required and no properties at all"),
        pytest.param({"type": "string", "enum": [1, 2]}, id="text choices that are numbers"),
        pytest.param({"type": "integer", "minimum": 10, "maximum": 1}, id="minimum over maximum"),
        pytest.param(_nan_maximum(), id="a maximum the sync turned to null"),
        pytest.param({"type": "string", "maxLength": "5"}, id="a maxLength that is text"),
        pytest.param("approvedBy", id="a name the envelope reserves"),
        pytest.param("", id="an empty name"),
    ],
)
def test_a_required_field_no_value_could_satisfy_blocks_approving_visibly(
    reviewer: Any, schema: Any
) -> None:
    if isinstance(schema, str):  # the case is about the field's name
        schema = {"required": [schema], "properties": {schema: {"type": "string"}}}
    elif "required" not in schema:
        schema = {"required": ["x"], "properties": {"x": schema}}
    approval = make_approval(form_schema=schema)

    with pytest.raises(NotPermitted) as refused:
        decide(
            token_id=approval.token_id, actor=reviewer, verdict="approve",
            fields={"x": 5}, deliver_now=False,
        )  # fmt: skip

    assert "cannot show" in refused.value.message and len(refused.value.message) < 300


def test_an_optional_field_with_a_broken_constraint_is_left_out_and_refused(
    reviewer: Any,
) -> None:
    schema = {"properties": {"amount": _nan_maximum(), "note": {"type": "string"}}}
    approval = make_approval(form_schema=schema)
    assert [f.name for f in ApproveForm(schema=schema).schema_bound_fields] == ["field_note"]

    with pytest.raises(InvalidDecision) as invalid:
        decide(
            token_id=approval.token_id, actor=reviewer, verdict="approve",
            fields={"amount": 10**9}, deliver_now=False,
        )  # fmt: skip
    assert "amount" in invalid.value.field_errors

    result = decide(
        token_id=approval.token_id, actor=reviewer, verdict="approve", fields={"note": "ok"},
        deliver_now=False,
    )  # fmt: skip
    assert result.decision is not None and "amount" not in result.decision.envelope
