from __future__ import annotations

from django.urls import path

from approvals import api

# The JSON API's routes, mounted at /api/ (the seed's paths, without trailing slashes).
urlpatterns = [
    path("approvals", api.approvals_list, name="api-approvals"),
    path("approvals/<str:token_id>/approve", api.approve, name="api-approve"),
    path("approvals/<str:token_id>/reject", api.reject, name="api-reject"),
    path("openapi.json", api.openapi_json, name="api-openapi"),
]
