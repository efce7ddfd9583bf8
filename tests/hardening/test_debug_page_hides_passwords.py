"""With ``DJANGO_DEBUG`` on, the error page lists the settings: the passwords inside
``DATABASE_URL`` and ``REDIS_URL`` must not be among them."""

from __future__ import annotations

import sys

from django.test import RequestFactory, override_settings
from django.views.debug import technical_500_response

# Assembled, so that the page's source excerpt of this file does not show it.
SECRET = "hun" + "ter2"


@override_settings(
    DEBUG=True,
    DATABASE_URL=f"postgres://app:{SECRET}-db@db.internal:5432/approvals",
    REDIS_URL=f"redis://:{SECRET}-redis@cache.internal:6379/0",
    TRIGGER_SECRET_KEY=f"tr_prod_{SECRET}key{SECRET}key",
)
def test_the_technical_500_page_masks_passwords_in_urls() -> None:
    request = RequestFactory().get("/")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        page = technical_500_response(request, *sys.exc_info()).content.decode()

    assert "db.internal" in page  # the settings are listed...
    assert SECRET not in page  # ...without their passwords
