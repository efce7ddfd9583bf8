from __future__ import annotations

from typing import Any

# Websocket routes arrive with the live queue (docs/design.md, "Next (open issues)").
websocket_urlpatterns: list[Any] = []
