from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

# Sign-in and sign-out only. Django's password-reset pages are left out: they need email,
# which the dashboard does not send, and there they failed silently and unthrottled (anyone
# could ask for resets). An admin sets a forgotten password in the admin; SSO deployments
# have none to forget.
accounts = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

# Django's own 400s (malformed requests), 403s, 404s and 500s answer JSON under /api/, and
# pages in the site's frame with a way back to the queue (templates/4xx.html, 500.html).
handler400 = "approvals.input_guard.bad_request"
handler403 = "approvals.input_guard.permission_denied"
handler404 = "approvals.input_guard.page_not_found"
handler500 = "approvals.input_guard.server_error"

urlpatterns = [
    path("accounts/", include(accounts)),
    path("admin/", admin.site.urls),
    path("api/", include("approvals.api.urls")),
    path("", include("approvals.urls")),
]
