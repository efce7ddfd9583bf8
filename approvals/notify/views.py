"""Each person's notification settings: which emails they get, and the last ones sent to them.

The list of recent emails doubles as the demo's mail view: without ``EMAIL_HOST`` the demo
prints its email on the server's console, and here each person reads their own.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from approvals.models import ApprovalPolicy
from approvals.notify.models import Notification, Preferences

RECENT = 10
# Only administrators are told of decisions Trigger.dev has not taken (approvals.notify.recipients).
ADMINS_ONLY = "email_delivery_failed"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"


def _span(minutes: float) -> str:
    """ "15 minutes", "1 hour", "90 minutes"."""
    if minutes >= 60 and minutes % 60 == 0:
        hours = int(minutes // 60)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes:g} minute{'s' if minutes != 1 else ''}"


def _help_texts() -> dict[str, str]:
    reminder = settings.NOTIFY_REMINDER_MINUTES
    return {
        "email_pending": "When an approval you may decide arrives. Its Approve and Reject "
        "links open the approval's page, where you confirm; a link alone decides nothing.",
        "email_reminder": (
            f"When an approval you may decide is still waiting {_span(reminder)} before it expires."
            if reminder
            else "This dashboard sends no reminders at present."
        ),
        "email_decided": "When someone else approves or rejects a run you requested. A run is "
        "yours when its requester is your email address or username.",
        "email_expired": "When a run you requested times out with nobody having decided it.",
        ADMINS_ONLY: "When a decision has not reached Trigger.dev after "
        f"{_span(settings.NOTIFY_DELIVERY_FAILED_MINUTES)}. Only administrators get these.",
    }


class PreferencesForm(forms.ModelForm[Preferences]):
    class Meta:
        model = Preferences
        fields = [
            "email_pending", "email_reminder", "email_decided", "email_expired", ADMINS_ONLY,
        ]  # fmt: skip
        labels = {ADMINS_ONLY: "Decisions that could not be delivered"}

    def __init__(self, *args: Any, admin: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not admin:
            # Not shown, and not saved: an unticked box absent from the form would turn it off.
            del self.fields[ADMINS_ONLY]
        for name, text in _help_texts().items():
            if name in self.fields:
                self.fields[name].help_text = text


class SignedInRequest(HttpRequest):
    user: User  # login_required


def _escalation_policies(user: User) -> list[str]:
    """The policies that escalate to a group ``user`` is in (approvals.notify.sweep)."""
    return list(
        ApprovalPolicy.objects.filter(
            escalation_group__in=user.groups.all(), escalate_after__isnull=False
        )
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()
    )


@require_http_methods(["GET", "POST"])
@login_required
def notification_settings(request: SignedInRequest) -> HttpResponse:
    user = request.user
    admin = user.is_superuser
    if request.method == "POST":
        choices, _ = Preferences.objects.get_or_create(user=user)
        form = PreferencesForm(request.POST, instance=choices, admin=admin)
        if form.is_valid():
            form.save()
            messages.success(request, "Your notification choices are saved.")
            return redirect("notification_settings")
    else:
        # A first visit writes nothing: no row means the defaults (approvals.notify.recipients).
        saved = Preferences.objects.filter(user=user).first()
        form = PreferencesForm(instance=saved or Preferences(user=user), admin=admin)
    recent = (
        Notification.objects.filter(user=user)
        .select_related("occurrence__approval")
        .order_by("-created_at", "-pk")[:RECENT]
    )
    context = {
        "form": form,
        "recent": list(recent),
        "email_on": settings.NOTIFY_EMAIL,
        "mail_on_console": settings.NOTIFY_EMAIL and settings.EMAIL_BACKEND == CONSOLE_BACKEND,
        "escalation_policies": _escalation_policies(user),
    }
    return render(request, "notify/settings.html", context)
