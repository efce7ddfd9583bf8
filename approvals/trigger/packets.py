"""Decoding of "packets": the (string, type) pairs in which Trigger.dev stores payloads, outputs
and metadata (docs/trigger-v4.md, "Waitpoint tokens" and "Realtime")."""

from __future__ import annotations

from typing import Any

from . import jsontext

__all__ = ["SUPERJSON", "decode_packet"]

SUPERJSON = "application/super+json"
JSON = "application/json"
TEXT = "text/plain"
STORE = "application/store"


def decode_packet(data: Any, data_type: str | None) -> Any:
    """Decode ``data`` according to ``data_type``.

    - ``application/super+json``: the JSON document's ``json`` key (superjson ``meta`` is
      ignored: dates stay ISO strings, which is what a JSON consumer wants anyway);
    - ``application/json`` (and no type): plain JSON; a string that is not JSON is returned as is;
    - ``text/plain``: the string itself;
    - ``application/store``: the offloaded object's path, returned unchanged (fetch it through
      ``/api/v1/packets/{path}`` if you need it).

    Values that are not strings were decoded already (some servers send JSON values) and are
    returned unchanged, except that a superjson envelope still yields its ``json`` key.
    """
    if data is None:
        return None
    kind = (data_type or JSON).split(";")[0].strip().lower()
    if not isinstance(data, str):
        if kind == SUPERJSON and isinstance(data, dict) and "json" in data:
            return data["json"]
        return data
    if kind in (TEXT, STORE):
        return data
    try:
        decoded = jsontext.loads(data)
    except ValueError:
        return data
    if kind == SUPERJSON and isinstance(decoded, dict):
        return decoded.get("json")
    return decoded
