"""The sign-in pages, as single sign-on shapes them (docs/sso.md, "Break-glass access").

Without SSO: Django's password form, as before. With OIDC: ``/accounts/login/`` sends the
visitor on to the provider, unless break-glass accounts are named, in which case it shows the
password form for them beside a "Sign in with single sign-on" button. With a trusted proxy
only, it explains that the portal signs people in. ``/admin/login/`` never shows a password
form of its own once SSO is on: anonymous visitors go to the sign-in above and come back, and
a signed-in user who is not an admin gets a 403 page rather than an invitation to sign in as
someone else.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from approvals.auth.passwords import is_break_glass, password_sign_in_open


def _with_next(url_name: str, next_url: str | None) -> str:
    url = reverse(url_name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


class SignInView(LoginView):
    template_name = "registration/login.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if settings.SSO_OIDC and not password_sign_in_open():
            return HttpResponseRedirect(
                _with_next("oidc_authenticate", request.GET.get(self.redirect_field_name))
            )
        return super().dispatch(request, *args, **kwargs)

    def get_form(self, form_class: Any = None) -> Any:
        form = super().get_form(form_class)
        if settings.SSO_ENABLED:
            # The password form is the exception with SSO: focus must not start in it.
            form.fields["username"].widget.attrs.pop("autofocus", None)
        return form

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context.update(
            sso_oidc=settings.SSO_OIDC,
            sso_proxy=settings.SSO_PROXY,
            password_open=password_sign_in_open(),
            break_glass=settings.SSO_ENABLED and password_sign_in_open(),
            sso_url=_with_next("oidc_authenticate", context.get("next"))
            if settings.SSO_OIDC
            else None,
        )
        return context


@never_cache
def admin_sign_in(request: HttpRequest) -> HttpResponse:
    if not settings.SSO_ENABLED:
        response: HttpResponse = admin.site.login(request)
        return response
    if request.user.is_authenticated:
        if request.user.is_active and request.user.is_staff:
            return HttpResponseRedirect(request.GET.get("next") or reverse("admin:index"))
        # Rendered, not raised: a PermissionDenied logs a traceback per visit.
        return render(request, "403.html", {"reason": "Only admins reach the admin."}, status=403)
    return HttpResponseRedirect(
        _with_next(settings.LOGIN_URL, request.GET.get("next") or reverse("admin:index"))
    )


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's page, except where SSO keeps the password: only break-glass accounts have one
    here to change."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if settings.SSO_ENABLED and user.is_authenticated and not is_break_glass(user):
            reason = (
                "Your password is kept by your organisation's sign-in provider: change it there."
            )
            return render(request, "403.html", {"reason": reason}, status=403)
        return super().dispatch(request, *args, **kwargs)
