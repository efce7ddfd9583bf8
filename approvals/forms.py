"""Forms of the reviewer's pages: queue and history filters, approve, reject and bulk actions.

Forms only validate input; the decision itself is ``approvals.decisions.decide``. The approve
form grows typed fields from the token's announced JSON schema (README.md, "The approval
contract"), which is untrusted upstream text: labels and help texts are escaped by the
templates like any other.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import QuerySet

from approvals import envelopes, limits, queries
from approvals.models import Approval, ApprovalState, DeliveryState, Verdict
from approvals.queries import ORDER_NEWEST, ORDER_TIME_LEFT, HistoryFilters, QueueFilters
from approvals.reviewing import SHOW_ALL, SHOW_CHOICES, SHOW_MINE, Reviewer
from approvals.templatetags.approval_tags import visible

MAX_COMMENT_LENGTH = limits.COMMENT_MAX
MAX_SEARCH_LENGTH = limits.SEARCH_MAX
# A schema is upstream input: what it can make us render is capped in envelopes.schema_problem
# (a schema past the caps is not rendered at all, and approving is refused).
SCHEMA_FIELD_PREFIX = "field_"


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def _blank_choice(label: str, values: list[str]) -> list[tuple[str, str]]:
    # Values are upstream text: the labels show invisible characters as escapes.
    return [("", label), *((value, visible(value)) for value in values)]


class FilterForm(forms.Form):
    """A page's filters from its address. Each filter that is valid applies; one that is not
    (a choice that does not exist, text too long) is dropped, and shown as dropped, so that
    the filter bar never shows a filter the results do not apply."""

    def drop_invalid(self) -> None:
        """Call once the fields' choices are set."""
        if self.is_valid() or not hasattr(self.data, "copy"):
            return
        data = self.data.copy()
        for name in self.errors:
            data.pop(name, None)
        self.data = data

    def applied(self) -> dict[str, Any]:
        self.is_valid()
        return self.cleaned_data


class QueueFilterForm(FilterForm):
    q = forms.CharField(required=False, max_length=MAX_SEARCH_LENGTH, strip=True)
    task = forms.ChoiceField(required=False)
    tag = forms.CharField(required=False, max_length=limits.TAG_MAX, strip=True)
    status = forms.ChoiceField(required=False)
    expiring = forms.BooleanField(required=False, label="Expiring within an hour")
    order = forms.ChoiceField(
        required=False,
        choices=[(ORDER_TIME_LEFT, "Time left"), (ORDER_NEWEST, "Newest")],
    )
    # Which approvals: those waiting for this reviewer (the default for reviewers), those they
    # asked for, or all (approvals.reviewing).
    show = forms.ChoiceField(required=False, choices=SHOW_CHOICES)

    def __init__(
        self, data: Any, *, tasks: list[str], statuses: list[str], default_show: str = SHOW_ALL
    ) -> None:
        super().__init__(data)
        self.default_show = default_show
        # A filter value that is no longer in the queue still filters (to nothing), rather
        # than being rejected and silently widening the results.
        task, status = data.get("task", ""), data.get("status", "")
        _choice_field(self, "task").choices = _blank_choice(
            "All tasks", sorted({*tasks, *([task] if task else [])})
        )
        _choice_field(self, "status").choices = _blank_choice(
            "Any status", sorted({*statuses, *([status] if status else [])})
        )
        self.drop_invalid()

    def filters(self) -> QueueFilters:
        data = self.applied()
        return QueueFilters(
            q=data.get("q", ""),
            task=data.get("task", ""),
            tag=data.get("tag", ""),
            run_status=data.get("status", ""),
            expiring_soon=bool(data.get("expiring")),
            order=data.get("order") or ORDER_TIME_LEFT,
        )

    @classmethod
    def for_reviewer(cls, data: Any, reviewer: Reviewer) -> QueueFilterForm:
        """The queue's filters as ``reviewer`` reads them: their default view is "Needs my
        decision" when they may decide, "All" otherwise."""
        facets = queries.queue_facets()
        return cls(
            data,
            tasks=facets["tasks"],
            statuses=facets["statuses"],
            default_show=SHOW_MINE if reviewer.may_decide_at_all else SHOW_ALL,
        )

    def rows(self, reviewer: Reviewer, *, personal: bool = True) -> QuerySet[Approval]:
        """The pending approvals these filters and view show ``reviewer`` (in queue order)."""
        return reviewer.narrow(
            queries.pending_queue(self.filters()), self.shown(), personal=personal
        )

    def shown(self) -> str:
        """The chosen view; the reviewer's default when none (or a bad one) is given."""
        data = self.applied()
        return str(data.get("show") or self.default_show)

    def filtered(self) -> bool:
        """Whether any filter narrows the queue (beyond the default view)."""
        data = self.applied()
        return any(data.get(name) for name in ("q", "task", "tag", "status", "expiring"))


class HistoryFilterForm(FilterForm):
    verdict = forms.ChoiceField(required=False, choices=[("", "Any verdict"), *Verdict.choices])
    reviewer = forms.ChoiceField(required=False)
    delivery = forms.ChoiceField(
        required=False, choices=[("", "Any state"), *DeliveryState.choices]
    )
    task = forms.ChoiceField(required=False)
    state = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any outcome"),
            *((value, label) for value, label in ApprovalState.choices if value != "pending"),
        ],
    )

    def __init__(self, data: Any, *, reviewers: list[str], tasks: list[str]) -> None:
        super().__init__(data)
        reviewer, task = data.get("reviewer", ""), data.get("task", "")
        _choice_field(self, "reviewer").choices = _blank_choice(
            "Any reviewer", sorted({*reviewers, *([reviewer] if reviewer else [])})
        )
        _choice_field(self, "task").choices = _blank_choice(
            "All tasks", sorted({*tasks, *([task] if task else [])})
        )
        self.drop_invalid()

    def filters(self) -> HistoryFilters:
        data = self.applied()
        return HistoryFilters(
            verdict=data.get("verdict", ""),
            reviewer=data.get("reviewer", ""),
            delivery=data.get("delivery", ""),
            task=data.get("task", ""),
            state=data.get("state", ""),
        )


def _schema_field(spec: dict[str, Any], *, required: bool) -> forms.Field | None:
    """A form field for one JSON-schema property, or None for a type we do not render."""
    label = spec.get("title") if isinstance(spec.get("title"), str) else None
    help_text = spec.get("description") if isinstance(spec.get("description"), str) else ""
    common: dict[str, Any] = {"required": required, "label": label, "help_text": help_text}
    enum = envelopes.usable_enum(spec)
    if enum is not None:
        choices = [(str(value), str(value)) for value in enum]
        # Required too starts blank: a reviewer who never looks must not approve with the
        # first option by default.
        choices = [("", "Choose…" if required else "—"), *choices]
        return forms.TypedChoiceField(choices=choices, coerce=_enum_coercer(enum), **common)
    kind = spec.get("type")
    if kind == "string":
        max_length = spec.get("maxLength")
        return forms.CharField(
            max_length=max_length if isinstance(max_length, int) else MAX_COMMENT_LENGTH,
            **common,
        )
    if kind in ("integer", "number"):
        bounds = {
            key: spec[name]
            for key, name in (("min_value", "minimum"), ("max_value", "maximum"))
            if isinstance(spec.get(name), int | float) and not isinstance(spec.get(name), bool)
        }
        number_field = forms.IntegerField if kind == "integer" else forms.FloatField
        return number_field(**common, **bounds)
    if kind == "boolean":
        # An unticked box is a valid "false"; "required" would force a tick.
        return forms.BooleanField(**{**common, "required": False})
    return None


def _enum_coercer(enum: list[Any]) -> Any:
    by_text = {str(value): value for value in enum}
    return lambda text: by_text[text]


def schema_fields(schema: Any) -> dict[str, forms.Field]:
    """Form fields, keyed ``field_<property>``, for a token's announced JSON schema."""
    if envelopes.schema_problem(schema) is not None:
        return {}  # not shown at all; approving is refused (envelopes.schema_problem)
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return {}
    listed = schema.get("required")
    required: list[Any] = listed if isinstance(listed, list) else []
    fields: dict[str, forms.Field] = {}
    for name, spec in schema["properties"].items():
        if not envelopes.field_supported(name, spec):
            continue  # optional (a required one blocks approving: envelopes.schema_problem)
        field = _schema_field(spec, required=name in required)
        if field is not None:
            if field.label is None:
                field.label = name
            fields[SCHEMA_FIELD_PREFIX + name] = field
    return fields


class ApproveForm(forms.Form):
    comment = forms.CharField(
        required=False,
        max_length=MAX_COMMENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Optional comment"}),
    )

    def __init__(
        self, data: Any = None, *, schema: Any = None, comment_required: bool = False
    ) -> None:
        super().__init__(data, prefix="approve")
        self.fields.update(schema_fields(schema))
        if comment_required:
            self.fields["comment"].required = True
            self.fields["comment"].widget.attrs["placeholder"] = "A comment is required"

    def schema_values(self) -> dict[str, Any]:
        """The typed values of the schema fields, under their schema names."""
        return {
            name.removeprefix(SCHEMA_FIELD_PREFIX): value
            for name, value in self.cleaned_data.items()
            if name.startswith(SCHEMA_FIELD_PREFIX) and value not in (None, "")
        }

    @property
    def schema_bound_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(SCHEMA_FIELD_PREFIX)]


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=MAX_COMMENT_LENGTH,
        error_messages={"required": "A reason is required to reject."},
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Why is this rejected?"}),
    )

    def __init__(self, data: Any = None) -> None:
        super().__init__(data, prefix="reject")


class BulkDecisionForm(forms.Form):
    """The queue's bulk action: the ticked rows, a verdict, and its text. Approving takes an
    optional comment (a policy may require one: that item is then refused and named); rejecting
    needs a reason. The first post asks to confirm; the confirmed one decides."""

    MAX_ITEMS = 200

    token_ids = forms.MultipleChoiceField(
        error_messages={"required": "Select at least one approval."}
    )
    verdict = forms.ChoiceField(choices=Verdict.choices)
    comment = forms.CharField(required=False, max_length=MAX_COMMENT_LENGTH)
    reason = forms.CharField(required=False, max_length=MAX_COMMENT_LENGTH)
    confirmed = forms.BooleanField(required=False)

    def __init__(self, data: Any) -> None:
        super().__init__(data)
        # Any submitted id is acceptable here; decide_many re-checks every one.
        _choice_field(self, "token_ids").choices = [
            (value, value) for value in data.getlist("token_ids")[: self.MAX_ITEMS]
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("verdict") == Verdict.REJECT and not cleaned.get("reason"):
            self.add_error("reason", "A reason is required to reject.")
        return cleaned

    def text(self) -> str:
        """The comment (approving) or the reason (rejecting) that goes with the verdict."""
        name = "reason" if self.cleaned_data.get("verdict") == Verdict.REJECT else "comment"
        return str(self.cleaned_data.get(name) or "")


def apply_field_errors(form: forms.Form, field_errors: dict[str, str]) -> None:
    """Put the decision service's field errors beside the matching fields of ``form``."""
    text_field = "reason" if "reason" in form.fields else "comment"
    for key, message in field_errors.items():
        name: str | None = None
        if key in ("comment", "comments", "reason"):
            name = text_field
        elif key in form.fields:
            name = key
        elif SCHEMA_FIELD_PREFIX + key in form.fields:
            name = SCHEMA_FIELD_PREFIX + key
        form.add_error(name, message)
