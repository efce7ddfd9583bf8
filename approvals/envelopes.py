"""The token outputs a decision sends: exactly the contract of README.md, "The approval contract".

    approved: {"approved": true, "decision": "approved", "approvedBy", "comments", "approvedAt",
               ...typed form fields, "approvers": [...] (N-of-M only)}
    rejected: {"approved": false, "decision": "rejected", "rejectedBy", "reason", "rejectedAt"}

An envelope is built once, when the decision is recorded, and stored with it; every delivery
attempt sends those same bytes, so a retried delivery can never carry a different verdict.
Also here: checking reviewer-entered form fields against the JSON Schema a token announced.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

# Keys of the approved envelope that a form field may not overwrite.
RESERVED_KEYS = frozenset(
    {"approved", "decision", "approvedBy", "comments", "approvedAt", "approvers"}
)
_TYPE_NAMES = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
}


def actor_label(user: Any) -> str:
    """How a person is named in an envelope: their email, else their username."""
    return (getattr(user, "email", "") or "").strip() or user.get_username()


def iso(moment: datetime) -> str:
    """``2025-08-01T10:05:00.123Z``, the shape JavaScript's ``toISOString()`` produces."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def approved_envelope(
    *,
    approved_by: str,
    comments: str,
    approved_at: datetime,
    fields: dict[str, Any] | None = None,
    approvers: list[str] | None = None,
) -> dict[str, Any]:
    """``approvers`` is given for N-of-M policies: everyone whose approval counted, in order."""
    envelope: dict[str, Any] = {
        key: value for key, value in (fields or {}).items() if key not in RESERVED_KEYS
    }
    envelope.update(
        {
            "approved": True,
            "decision": "approved",
            "approvedBy": approved_by,
            "comments": comments,
            "approvedAt": iso(approved_at),
        }
    )
    if approvers is not None:
        envelope["approvers"] = list(approvers)
    return envelope


def rejected_envelope(*, rejected_by: str, reason: str, rejected_at: datetime) -> dict[str, Any]:
    return {
        "approved": False,
        "decision": "rejected",
        "rejectedBy": rejected_by,
        "reason": reason,
        "rejectedAt": iso(rejected_at),
    }


def schema_properties(schema: Any) -> dict[str, dict[str, Any]]:
    """The usable ``properties`` of an announced schema (untrusted: anything else is ignored)."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return {}
    return {
        str(name): spec if isinstance(spec, dict) else {}
        for name, spec in schema["properties"].items()
    }


# What an announced form may hold to be shown whole; beyond it the request cannot be approved
# here (it can be rejected), rather than approved with part of its form silently dropped.
MAX_SCHEMA_FIELDS = 30
MAX_ENUM_OPTIONS = 200
_RENDERED_TYPES = ("string", "number", "integer", "boolean")
FORM_TOO_LARGE = (
    "This request's form is too large to show here, so it cannot be approved from the"
    " dashboard; ask the task's owner for a smaller form. It can still be rejected."
)
FORM_ALTERED = (
    "This request's form held values that cannot be stored as sent (such as NaN or a NUL"
    " character), so it cannot be approved here; ask the task's owner. It can still be"
    " rejected."
)
FORM_UNSUPPORTED = (
    "This request's form asks for a field the dashboard cannot show ({name}), so it cannot be"
    " approved here; ask the task's owner. It can still be rejected."
)


def usable_enum(spec: dict[str, Any]) -> list[Any] | None:
    enum = spec.get("enum")
    if (
        isinstance(enum, list)
        and enum
        and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in enum)
    ):
        return enum
    return None


def field_supported(name: Any, spec: Any) -> bool:
    """Whether the dashboard can show the property ``name`` as a form field and check it as
    the task wrote it. Not when a supported keyword has a value of the wrong kind (a ``null``
    maximum, which is what the sync stores for NaN, or a ``maxLength`` of "5"): the check would
    be dropped. Not when no value can satisfy it (text choices that are numbers, a minimum
    above the maximum). Not for a name the envelope reserves, or an empty one."""
    if not isinstance(name, str) or not name or name in RESERVED_KEYS:
        return False
    if not isinstance(spec, dict):
        return False
    for key, kinds in _KEYWORDS.items():
        if key in spec and (not isinstance(spec[key], kinds) or isinstance(spec[key], bool)):
            return False
    kind = spec.get("type")
    if spec.get("enum") is not None:
        enum = usable_enum(spec)
        return enum is not None and (kind is None or all(_is_kind(v, kind) for v in enum))
    if spec.get("type", "string") not in _RENDERED_TYPES:
        return False
    low, high = spec.get("minimum"), spec.get("maximum")
    return low is None or high is None or low <= high


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, int | float)
    return False  # no choice list of booleans or structures is rendered


def schema_problem(schema: Any) -> str | None:
    """Why the announced form cannot be shown whole (then approving is refused), or ``None``.

    A schema is shown whole or not at all (docs/hardening.md, "Announced forms"): one cut to a
    preview by the sync (over 256 KB), with more than ``MAX_SCHEMA_FIELDS`` fields, with a
    list of more than ``MAX_ENUM_OPTIONS`` choices, with a required field it does not list, or
    with a required field the form cannot show (``field_supported``), would otherwise be
    approved without some of its fields, or never be approvable at all."""
    if schema is None:
        return None
    if not isinstance(schema, dict):
        return FORM_UNSUPPORTED.format(name="the form itself")
    if schema.get("truncated") is True and "preview" in schema:
        return FORM_ALTERED if schema.get("altered") is True else FORM_TOO_LARGE
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        return FORM_UNSUPPORTED.format(name="properties")
    if len(properties) > MAX_SCHEMA_FIELDS:
        return FORM_TOO_LARGE
    listed = schema.get("required")
    required = [n for n in listed if isinstance(n, str)] if isinstance(listed, list) else []
    for spec in properties.values():
        enum = spec.get("enum") if isinstance(spec, dict) else None
        if isinstance(enum, list) and len(enum) > MAX_ENUM_OPTIONS:
            return FORM_TOO_LARGE
    # A field the form cannot show is left out when optional (nothing is lost: the task must
    # cope without it), and blocks approving when required.
    for name in required:
        if name not in properties or not field_supported(name, properties[name]):
            return FORM_UNSUPPORTED.format(name=name[:60] or "a field without a name")
    return None


def validate_fields(schema: Any, values: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Check reviewer-entered ``values`` against the token's small JSON Schema.

    Supports what the dashboard renders: ``type`` (string, number, integer, boolean),
    ``required``, ``enum``, ``minimum``/``maximum``, ``maxLength``. Values must already be
    typed (the form layer converts text inputs); nothing is coerced here. Returns the clean
    values and field errors keyed by field name.
    """
    properties = schema_properties(schema)
    if values is None:
        values = {}
    if not isinstance(values, dict):
        return {}, {"fields": "Fields must be an object."}
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for name in values:
        if name not in properties:
            errors[str(name)] = "This field is not part of the approval's form."
        elif name in RESERVED_KEYS:
            errors[str(name)] = "This field name is reserved by the approval envelope."
        elif not field_supported(name, properties[name]):
            # Left out of the form: accepting a value would skip the checks the task asked for.
            errors[str(name)] = "The dashboard cannot check this field as its form asks."
    required = schema.get("required") if isinstance(schema, dict) else None
    required_names = {str(n) for n in required} if isinstance(required, list) else set()
    for name, spec in properties.items():
        if name not in values or values[name] is None or values[name] == "":
            if name in required_names:
                errors[name] = "This field is required."
            continue
        if name in RESERVED_KEYS or str(name) in errors:
            continue
        problem = _check_value(spec, values[name])
        if problem:
            errors[name] = problem
        else:
            clean[name] = values[name]
    return clean, errors


# The keywords a field's schema may use, with the JSON types their values must have. Only
# these are copied into the schema handed to the validator: an announced schema is untrusted,
# and keywords such as "pattern" (a regular expression of the task's choosing) or "$ref" are
# not ours to run.
_KEYWORDS: dict[str, tuple[type, ...]] = {
    "type": (str,),
    "enum": (list,),
    "minimum": (int, float),
    "maximum": (int, float),
    "maxLength": (int,),
}


def _field_schema(spec: dict[str, Any]) -> dict[str, Any]:
    kept = {
        key: spec[key]
        for key, kinds in _KEYWORDS.items()
        if isinstance(spec.get(key), kinds) and not isinstance(spec.get(key), bool)
    }
    if "type" not in kept and "enum" not in kept:
        kept["type"] = "string"  # the form renders an untyped field as text
    return kept


def _check_value(spec: dict[str, Any], value: Any) -> str | None:
    """The first problem with ``value`` under the field's schema, in words for the reviewer;
    the checking itself is the jsonschema library's (Draft 2020-12)."""
    schema = _field_schema(spec)
    kind = schema.get("type")
    if kind not in (None, *_RENDERED_TYPES):
        # Unknown or structured types are not rendered as form fields; refuse rather than guess.
        return "This field's type is not supported."
    if isinstance(value, float) and not math.isfinite(value):
        return "Enter a finite number."
    error = best_match(Draft202012Validator(schema).iter_errors(value))
    if error is None:
        return None
    if error.validator == "type":
        return {"string": "Enter text.", "boolean": "Choose true or false."}.get(
            str(kind), f"Enter {_TYPE_NAMES.get(str(kind), 'a value')}."
        )
    if error.validator == "minimum":
        return f"Enter a number of at least {schema['minimum']}."
    if error.validator == "maximum":
        return f"Enter a number of at most {schema['maximum']}."
    if error.validator == "maxLength":
        return f"Enter at most {schema['maxLength']} characters."
    if error.validator == "enum":
        return _check_choice(spec, value)
    return "Enter a valid value."


def _check_choice(spec: dict[str, Any], value: Any) -> str | None:
    enum = spec.get("enum")
    if not isinstance(enum, list) or value in enum:
        return None
    if len(enum) <= 10:
        return "Choose one of: " + ", ".join(str(option)[:60] for option in enum) + "."
    return f"Choose one of the {len(enum):,} listed options."  # never echo a huge list
