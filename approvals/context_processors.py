from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def trigger_mode(request: HttpRequest) -> dict[str, Any]:
    """Lets every template say whether it shows the embedded sandbox's demo data."""
    return {"trigger_uses_sandbox": settings.TRIGGER_USES_SANDBOX}
