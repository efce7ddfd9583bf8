"""The suite's one way to wait: poll a condition with a bound, never sleep a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(
    condition: Callable[[], Any],
    *,
    timeout: float = 15.0,
    interval: float = 0.02,
    pause: Callable[[float], Any] = time.sleep,
) -> Any:
    """Poll ``condition`` until it returns something truthy (and return that), or fail the test
    after ``timeout`` seconds. ``pause`` waits between polls: where the condition reads what a
    Playwright handler collects, pass the page's ``wait_for_timeout`` (in ms), since the sync
    API runs handlers only while a Playwright call is under way (a plain sleep starves them)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        pause(interval)
