"""What a reviewer typed into an approval's own form, as label and value, for the decision
panel, the timeline and the History page."""

from __future__ import annotations

from typing import Any

from approvals.envelopes import RESERVED_KEYS, schema_properties

# Envelope keys a rejection or the dashboard writes: never a reviewer's typed value.
_NOT_TYPED = RESERVED_KEYS | {"rejectedBy", "reason", "rejectedAt"}


def _label(properties: dict[str, dict[str, Any]], name: str) -> str:
    title = properties.get(name, {}).get("title")
    return title if isinstance(title, str) and title.strip() else name


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.10g}" if abs(value) >= 1000 else f"{value:.10g}"
    return str(value)


def entered_values(schema: Any, values: Any) -> list[tuple[str, str]]:
    """``(label, value)`` for each typed value, labelled by the form's schema titles (the
    raw key when the schema is not at hand). Upstream text: templates escape both."""
    if not isinstance(values, dict):
        return []
    properties = schema_properties(schema)
    return [
        (_label(properties, str(name)), _text(value))
        for name, value in values.items()
        if str(name) not in _NOT_TYPED and value not in (None, "")
    ]
