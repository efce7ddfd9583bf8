from __future__ import annotations

from typing import Any

# The JSON API's routes, mounted at /api/.
urlpatterns: list[Any] = []
