"""The admin's side of notifications: channels, and the outbox (docs/notifications.md).

Channel secrets are write-only: the form never shows one, and leaving the field blank keeps it.
A Slack channel's URL is a secret too (whoever has it can post), so it is shown only as its
host. The outbox is read-only apart from "Send again now"; each row shows what was sent.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from approvals.admin_hints import NoControlKeyHint
from approvals.notify import senders
from approvals.notify.models import (
    Channel,
    ChannelKind,
    DeliveryStatus,
    Event,
    Notification,
)
from approvals.notify.occurrences import wake

KEEP = "Leave blank to keep the current value."


def masked(channel: Channel) -> str:
    """What the admin shows of a target: a Slack URL only by its host."""
    if channel.kind == ChannelKind.SLACK:
        host = urlsplit(channel.target).netloc or "?"
        return f"{host}/… (hidden)"
    return channel.target


class ChannelForm(forms.ModelForm[Channel]):
    events = forms.MultipleChoiceField(
        choices=Event.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every event.",
    )
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Webhooks only (Slack and email need none): the key of"
        " X-Approvals-Signature. Write-only. ",
    )

    class Meta:
        model = Channel
        fields = [
            "name",
            "kind",
            "target",
            "secret",
            "events",
            "policies",
            "task_patterns",
            "active",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stored_secret = self.instance.secret if self.instance.pk else ""
        self.stored_target = self.instance.target if self.instance.pk else ""
        if self.instance.pk:
            self.fields["secret"].help_text += KEEP
            if self.instance.kind == ChannelKind.SLACK:
                # Never sent back to the browser: shown as its host, blank keeps it.
                self.initial["target"] = ""
                self.fields["target"].required = False
                self.fields["target"].help_text = f"Now {masked(self.instance)}. {KEEP}"

    def clean_secret(self) -> str:
        return str(self.cleaned_data.get("secret") or "") or self.stored_secret

    def clean_target(self) -> str:
        target = str(self.cleaned_data.get("target") or "").strip() or self.stored_target
        if not target:
            raise forms.ValidationError("Where should messages go?")
        return target

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, target = data.get("kind"), data.get("target") or ""
        if kind in (ChannelKind.WEBHOOK, ChannelKind.SLACK):
            parts = urlsplit(target)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                self.add_error("target", "An http(s) URL, please.")
        elif kind == ChannelKind.EMAIL:
            try:
                forms.EmailField().clean(target)
            except forms.ValidationError:
                self.add_error("target", "An email address, please.")
        if kind == ChannelKind.WEBHOOK and not data.get("secret"):
            self.add_error(
                "secret", "A webhook needs a secret: its receiver checks the signature with it."
            )
        return data


@admin.register(Channel)
class ChannelAdmin(NoControlKeyHint, admin.ModelAdmin[Channel]):
    form = ChannelForm
    list_display = ["name", "kind", "shown_target", "active", "heard", "from_environment"]
    list_filter = ["kind", "active"]
    search_fields = ["name"]
    filter_horizontal = ["policies"]
    actions = ["send_test"]

    @admin.action(description="Send a test message (event “ping”) now")
    def send_test(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        """Try the selected channels while the admin waits (each at most
        NOTIFY_TIMEOUT_SECONDS): what a receiver answered, in words without its URL."""
        for channel in queryset.order_by("name")[:10]:
            try:
                senders.send_test(channel)
            except senders.SendFailed as exc:
                self.message_user(request, f"Channel “{channel.name}”: {exc}.", messages.ERROR)
            else:
                self.message_user(request, f"Channel “{channel.name}”: the test message was taken.")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The environment owns its channel (approvals.notify.environment).
        if obj is not None and obj.from_environment:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.from_environment:
            return False  # unset NOTIFY_WEBHOOK_URL to turn it off
        return super().has_delete_permission(request, obj)

    @admin.display(description="target")
    def shown_target(self, obj: Channel) -> str:
        return masked(obj)

    @admin.display(description="events")
    def heard(self, obj: Channel) -> str:
        return ", ".join(obj.events) if obj.events else "all"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is not None and obj.from_environment:
            return ["name", "kind", "shown_target", "heard", "active"]
        return []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.from_environment:
            return ["name", "kind", "shown_target", "heard", "active"]
        return super().get_fields(request, obj)


_SHOWN: list[str] = [
    "event", "recipient", "kind", "approval_link", "delivery_id", "status", "attempts",
    "next_attempt_at", "last_error", "created_at", "sent_at", "subject", "body", "html_source",
]  # fmt: skip


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = [
        "created_at", "event", "recipient", "status", "attempts", "short_error", "approval_link",
    ]  # fmt: skip
    list_filter = ["status", "event", "kind", "created_at"]
    search_fields = ["address", "subject", "occurrence__approval__token_id", "channel__name"]
    list_select_related = ["channel", "occurrence__approval"]
    date_hierarchy = "created_at"
    actions = ["send_again"]
    fields = tuple(_SHOWN)
    readonly_fields = _SHOWN

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Viewing only; "Send again now" is an action with its own permission check.
        return False

    @admin.display(description="recipient")
    def recipient(self, obj: Notification) -> str:
        return obj.recipient_label

    @admin.display(description="last error")
    def short_error(self, obj: Notification) -> str:
        text = obj.last_error
        return text if len(text) <= 60 else text[:59] + "…"

    @admin.display(description="HTML")
    def html_source(self, obj: Notification) -> SafeString:
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", obj.html)

    @admin.display(description="approval")
    def approval_link(self, obj: Notification) -> SafeString:
        approval = obj.occurrence.approval
        url = reverse("admin:approvals_approval_change", args=[approval.pk])
        return format_html('<a href="{}">{}</a>', url, approval.token_id)

    @admin.action(description="Send again now (failed or waiting messages)")
    def send_again(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        if not request.user.is_superuser:
            self.message_user(request, "Only superusers resend messages.", messages.ERROR)
            return
        count = queryset.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.PENDING]).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), leased_until=None
        )
        wake.set()
        said = "1 message" if count == 1 else f"{count} messages"
        self.message_user(
            request,
            f"{said} will be sent again, each under its own delivery id as before.",
            messages.SUCCESS,
        )

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("send_again", None)
        return actions
