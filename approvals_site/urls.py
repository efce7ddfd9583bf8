from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from approvals.auth.oidc_views import sign_out
from approvals.auth.sign_in_pages import admin_sign_in
from approvals.auth.urls import accounts, oidc

# Django's own 400s (malformed requests), 403s, 404s and 500s answer JSON under /api/, and
# pages in the site's frame with a way back to the queue (templates/4xx.html, 500.html).
handler400 = "approvals.input_guard.bad_request"
handler403 = "approvals.input_guard.permission_denied"
handler404 = "approvals.input_guard.page_not_found"
handler500 = "approvals.input_guard.server_error"

urlpatterns = [
    path("accounts/", include(accounts)),
    path("oidc/", include(oidc)),
    # Before the admin's own: with SSO on, the admin has no password form of its own.
    path("admin/login/", admin_sign_in, name="admin_sign_in"),
    # The admin's "Log out" signs out of the provider too, like the dashboard's.
    path("admin/logout/", sign_out, name="admin_sign_out"),
    path("admin/", admin.site.urls),
    path("api/", include("approvals.api.urls")),
    path("", include("approvals.urls")),
]
