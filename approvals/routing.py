from __future__ import annotations

from typing import Any

# Websocket routes arrive with the live queue (design §6).
websocket_urlpatterns: list[Any] = []
