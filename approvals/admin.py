"""The Django admin: the audit log, the read model, policies and API tokens (docs/design.md,
"Pages, API, admin"; docs/design.md, "Deciding").

Decisions, votes and approvals are read-only for everybody, superusers included: decisions
are the audit log and the delivery outbox, and approvals mirror Trigger.dev. Only policies
and API tokens are edited here. An API token's raw value is shown once, on the page that
answers its creation, and never stored (no message, no session).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from approvals.admin_hints import NoControlKeyHint
from approvals.models import ApiToken, Approval, ApprovalPolicy, Decision, Vote
from approvals.queries import trigger_run_url


def dashboard_url(token_id: str) -> str:
    """The approval's page; ``reverse`` quotes the id, so an upstream id holding ``/../``,
    ``?`` or ``#`` cannot make the link point anywhere else."""
    return reverse("approval_detail", args=[token_id])


def _links(token_id: str, run_id: str) -> SafeString:
    parts = [("Dashboard", dashboard_url(token_id))]
    if run := trigger_run_url(run_id):
        parts.append(("Run on Trigger.dev", run))
    return format_html_join(
        " · ", '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
        ((url, label) for label, url in parts),
    )  # fmt: skip


class ThroughFilter(admin.SimpleListFilter):
    """Votes and decisions by how they were made: the ones through a token someone else
    issued are the ones to review after a token was misused (hardening item 7)."""

    title = "through"
    parameter_name = "through"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("another", "an API token someone else issued"),
            ("own", "an API token they issued themselves"),
            ("session", "signed in (no API token)"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # Both names are snapshots taken together at record time (see ThroughToken).
        with_token = queryset.exclude(token_issued_by="")
        if self.value() == "another":
            return with_token.exclude(token_issued_by=F("actor_name"))
        if self.value() == "own":
            return with_token.filter(token_issued_by=F("actor_name"))
        if self.value() == "session":
            return queryset.filter(token_issued_by="")
        return queryset


# The admin names the product, not the framework.
admin.site.site_header = "Trigger.dev approvals: admin"
admin.site.site_title = "Trigger.dev approvals admin"
admin.site.index_title = "Audit log, policies, people, API tokens and notifications"


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """View-only for everyone: no add, change or delete (so no delete action either)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = [
        "decided_at", "verdict", "actor_name", "via", "approval_link", "delivery_state",
        "attempts", "links",
    ]  # fmt: skip
    list_filter = ["verdict", "delivery_state", ThroughFilter, "decided_at"]
    search_fields = [
        "approval__token_id", "approval__run_id", "approval__task_identifier",
        "actor_name", "actor_email", "token_issued_by", "api_token_hint", "comment",
    ]  # fmt: skip
    list_select_related = ["approval", "actor"]
    date_hierarchy = "decided_at"
    readonly_fields = ["approval_link", "links", "via"]
    fields = [
        "approval_link", "links", "actor_name", "actor_email", "actor", "via", "verdict",
        "comment", "envelope", "decided_at",
        "idempotency_key", "delivery_state", "attempts", "next_attempt_at", "last_error",
        "delivered_at", "upstream_output",
    ]  # fmt: skip

    @admin.display(description="approval", ordering="approval__token_id")
    def approval_link(self, obj: Decision) -> SafeString:
        url = reverse("admin:approvals_approval_change", args=[obj.approval_id])
        return format_html('<a href="{}">{}</a>', url, obj.approval.token_id)

    @admin.display(description="open")
    def links(self, obj: Decision) -> SafeString:
        return _links(obj.approval.token_id, obj.approval.run_id)

    @admin.display(description="through")
    def via(self, obj: Decision) -> str:
        return obj.through


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "verdict", "actor_name", "via", "approval"]
    list_filter = ["verdict", ThroughFilter, "created_at"]
    search_fields = [
        "approval__token_id", "approval__run_id", "actor_name", "actor_email",
        "token_issued_by", "api_token_hint", "comment",
    ]  # fmt: skip
    list_select_related = ["approval", "actor"]

    @admin.display(description="through")
    def via(self, obj: Vote) -> str:
        return obj.through


def stuck_runs(approvals: QuerySet[Approval]) -> QuerySet[Approval]:
    """Decisions Trigger.dev accepted whose run has still not resumed (docs/live-updates.md,
    "Stuck runs")."""
    return approvals.filter(
        run_stuck_at__isnull=False, run_resumed_at__isnull=True, run_finished_at__isnull=True
    )


class StuckRunFilter(admin.SimpleListFilter):
    """Counts and lists the runs flagged as not resuming after their decision."""

    title = "run after the decision"
    parameter_name = "run_not_resumed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        count = stuck_runs(Approval.objects.all()).count()
        return [("yes", f"Run not resumed ({count})")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Approval]) -> QuerySet[Approval]:
        if self.value() == "yes":
            return stuck_runs(queryset)
        return queryset


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    list_display = [
        "token_id", "task_identifier", "description_short", "state", "run_status",
        "run_not_resumed", "requested_by", "created_at", "expires_at", "links",
    ]  # fmt: skip
    list_filter = [StuckRunFilter, "state", "run_status", "task_identifier"]
    search_fields = ["token_id", "run_id", "description", "requested_by", "task_identifier"]
    date_hierarchy = "created_at"
    readonly_fields = ["links"]

    @admin.display(description="run not resumed", boolean=True)
    def run_not_resumed(self, obj: Approval) -> bool:
        return obj.run_is_stuck

    @admin.display(description="description")
    def description_short(self, obj: Approval) -> str:
        text = obj.description or ""
        return text if len(text) <= 80 else text[:79] + "…"

    @admin.display(description="open")
    def links(self, obj: Approval) -> SafeString:
        return _links(obj.token_id, obj.run_id)


class ApprovalPolicyForm(forms.ModelForm[ApprovalPolicy]):
    class Meta:
        model = ApprovalPolicy
        fields = "__all__"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        restricted = data.get("restrict_to_groups")
        groups = data.get("approver_groups")
        if restricted and not groups:
            self.add_error(
                "approver_groups",
                "Choose at least one group, or let any reviewer decide: restricted to no group,"
                " nobody could decide.",
            )
        if groups and not restricted:
            self.add_error(
                "restrict_to_groups",
                "Groups are chosen but any reviewer may decide: tick this box to restrict the"
                " policy to them, or remove the groups.",
            )
        return data


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(NoControlKeyHint, admin.ModelAdmin[ApprovalPolicy]):
    form = ApprovalPolicyForm
    list_display = [
        "name", "priority", "task_pattern", "tag", "who_decides", "approvals_required",
        "allow_self_approval", "require_comment",
    ]  # fmt: skip
    list_editable = ["priority"]
    search_fields = ["name", "task_pattern", "tag"]
    filter_horizontal = ["approver_groups"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("approver_groups")

    @admin.display(description="who decides")
    def who_decides(self, policy: ApprovalPolicy) -> str:
        if not policy.restrict_to_groups:
            return "any reviewer"
        names = sorted(g.name for g in policy.approver_groups.all())
        return ", ".join(names) or "NOBODY: its groups were removed; fix this policy"


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = [
        "hint", "name", "user", "issuer", "created_at", "last_used_at", "revoked_at",
    ]  # fmt: skip
    list_filter = ["revoked_at", "created_at"]
    search_fields = ["name", "user__username", "issued_by__username", "hint"]
    list_select_related = ["user", "issued_by"]
    actions = ["revoke"]

    # A token acts as its user. Staff allowed to add tokens could otherwise mint one for a
    # reviewer and decide in their name, the audit log blaming the reviewer: only superusers
    # issue tokens for other people (docs/hardening.md, "API tokens").

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["user", "name"]
        return ["user", "name", "hint", "issuer", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return ["user", "hint", "issuer", "created_at", "last_used_at", "revoked_at"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user" and not request.user.is_superuser:
            kwargs["queryset"] = get_user_model().objects.filter(pk=request.user.pk or 0)
            kwargs["initial"] = request.user.pk
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="issued by")
    def issuer(self, obj: ApiToken) -> str:
        return obj.issuer_label

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if not change and obj.user_id != request.user.pk and not request.user.is_superuser:
            raise PermissionDenied("Only superusers issue API tokens for other users.")
        if not change:
            obj.record_issuer(request.user)  # the signed-in staff member
            # Kept on the request only until response_add renders it; never stored.
            request._issued_api_token = obj.set_new_secret()  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        raw = getattr(request, "_issued_api_token", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        response = TemplateResponse(
            request,
            "admin/approvals/apitoken/issued.html",
            {
                **self.admin_site.each_context(request),
                "token": obj,
                "raw_token": raw,
                "opts": self.opts,
                "changelist_url": reverse("admin:approvals_apitoken_changelist"),
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected API tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} API token(s).", messages.SUCCESS)


# Channels and the notification outbox (docs/notifications.md).
from approvals.notify import admin as notify_admin  # noqa: E402, F401
