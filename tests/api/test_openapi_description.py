from __future__ import annotations

import re

import pytest

from approvals.api import urls as api_urls

pytestmark = pytest.mark.django_db


def test_openapi_describes_every_api_route(api):
    response = api.get("/api/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    described = set(document["paths"])
    routes = {
        "/" + re.sub(r"<str:(\w+)>", lambda m: "{tokenId}", str(p.pattern))
        for p in api_urls.urlpatterns
        if p.name  # the unnamed catch-all only answers JSON 404s
    }
    assert routes == described
    approve = document["paths"]["/approvals/{tokenId}/approve"]["post"]
    assert set(approve["responses"]) >= {"200", "400", "401", "403", "404", "409"}
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_openapi_needs_authentication(client):
    assert client.get("/api/openapi.json").status_code == 401
