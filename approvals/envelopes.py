"""The token outputs a decision sends: exactly the contract of design §3.

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
    required = schema.get("required") if isinstance(schema, dict) else None
    required_names = {str(n) for n in required} if isinstance(required, list) else set()
    for name, spec in properties.items():
        if name not in values or values[name] is None or values[name] == "":
            if name in required_names:
                errors[name] = "This field is required."
            continue
        if name in RESERVED_KEYS:
            continue
        problem = _check_value(spec, values[name])
        if problem:
            errors[name] = problem
        else:
            clean[name] = values[name]
    return clean, errors


def _check_value(spec: dict[str, Any], value: Any) -> str | None:
    kind = spec.get("type", "string")
    if kind == "string":
        if not isinstance(value, str):
            return "Enter text."
        max_length = spec.get("maxLength")
        if isinstance(max_length, int) and len(value) > max_length:
            return f"Enter at most {max_length} characters."
    elif kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"Enter {_TYPE_NAMES[kind]}."
        if isinstance(value, float) and not math.isfinite(value):
            return "Enter a finite number."
        if kind == "integer" and not float(value).is_integer():
            return "Enter a whole number."
        low, high = spec.get("minimum"), spec.get("maximum")
        if isinstance(low, int | float) and value < low:
            return f"Enter a number of at least {low}."
        if isinstance(high, int | float) and value > high:
            return f"Enter a number of at most {high}."
    elif kind == "boolean":
        if not isinstance(value, bool):
            return "Choose true or false."
    else:
        # Unknown or structured types are not rendered as form fields; refuse rather than guess.
        return "This field's type is not supported."
    enum = spec.get("enum")
    if isinstance(enum, list) and value not in enum:
        return "Choose one of: " + ", ".join(str(option) for option in enum) + "."
    return None
