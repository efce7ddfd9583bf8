"""Sign-in and sign-out URLs (the OIDC ones answer 404 until OIDC_ISSUER is set)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from approvals.auth import oidc_views
from approvals.auth.sign_in_pages import PasswordChangeView, SignInView

# Django's password-reset pages are left out: they need email, which the dashboard does not
# send, and there they failed silently and unthrottled (anyone could ask for resets). An admin
# sets a forgotten password in the admin; SSO deployments have none to forget.
accounts = [
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", oidc_views.sign_out, name="logout"),
    path("signed-out/", oidc_views.signed_out, name="signed_out"),
    path("password_change/", PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

oidc = [
    path("authenticate/", oidc_views.authenticate, name="oidc_authenticate"),
    path("callback/", oidc_views.callback, name="oidc_callback"),
]
