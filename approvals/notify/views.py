"""Each person's notification choices: which emails they get (docs/notifications.md)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from approvals.notify.models import Notification, Preferences


class PreferencesForm(forms.ModelForm[Preferences]):
    class Meta:
        model = Preferences
        fields = [
            "email_pending", "email_reminder", "email_decided", "email_expired",
            "email_delivery_failed",
        ]  # fmt: skip


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    choices, _ = Preferences.objects.get_or_create(user=request.user)
    form = PreferencesForm(request.POST or None, instance=choices)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your notification choices are saved.")
        return HttpResponseRedirect(reverse("notification_settings"))
    recent = Notification.objects.filter(user=request.user).order_by("-created_at")[:10]
    return render(
        request,
        "notify/settings.html",
        {"form": form, "recent": recent, "is_admin": request.user.is_superuser},
    )
