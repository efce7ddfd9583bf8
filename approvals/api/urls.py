from __future__ import annotations

from django.urls import path, re_path

from approvals.api import views as api

# The JSON API's routes, mounted at /api/ (the seed's paths, without trailing slashes).
urlpatterns = [
    path("approvals", api.approvals_list, name="api-approvals"),
    path("approvals/<str:token_id>/approve", api.approve, name="api-approve"),
    path("approvals/<str:token_id>/reject", api.reject, name="api-reject"),
    path("openapi.json", api.openapi_json, name="api-openapi"),
    # Anything else under /api/ is a JSON 404, never Django's HTML page.
    re_path(r"^.*$", api.not_found),
]
