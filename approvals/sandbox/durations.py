"""Parsing the duration and date strings the API accepts (timeouts, periods, from/to)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
# Token timeouts: "30s", "10m", "2h", "3d", "4w" and combinations such as "1h30m"
# (docs/trigger-v4.md, "Waitpoint tokens").
_COMBINED = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> timedelta | None:
    match = _COMBINED.match(text.strip())
    if not match or not any(match.groups()):
        return None
    seconds = sum(
        int(amount) * _UNIT_SECONDS[unit]
        for amount, unit in zip(match.groups(), "wdhms", strict=True)
        if amount
    )
    return timedelta(seconds=seconds)


def parse_iso(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_date(text: str) -> datetime | None:
    """``CoercedDate``: epoch milliseconds or an ISO string."""
    if re.fullmatch(r"-?\d+", text.strip()):
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    return parse_iso(text)
