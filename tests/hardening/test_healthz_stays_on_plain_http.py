"""Load balancers check ``/healthz`` over plain HTTP: it must not redirect to HTTPS."""

from __future__ import annotations

from django.test import Client, override_settings


@override_settings(SECURE_SSL_REDIRECT=True)
def test_healthz_answers_over_http_while_pages_redirect(db: None) -> None:
    client = Client()

    assert client.get("/healthz").status_code == 200
    page = client.get("/")
    assert page.status_code == 301 and page["Location"].startswith("https://")
