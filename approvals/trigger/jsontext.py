"""Decoding JSON from Trigger.dev without letting one hostile value break the caller.

Task payloads and metadata come from JavaScript, where ``NaN``, ``Infinity`` and numbers such
as ``1e999`` are ordinary; the server passes them through. Python's decoder accepts those
(they become ``float('nan')`` / ``float('inf')``), so they reach the caller as floats and are
dealt with where values are stored (docs/hardening.md, "Poison records").

What the standard decoder does not survive is nesting: a value nested a few thousand levels
deep raises ``RecursionError``, which is not a ``ValueError`` and used to escape every handler.
``loads`` catches it and decodes again with the too-deep parts replaced by ``null``.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Deeper than any real payload, well below the interpreter's recursion limit (1,000 frames),
# which the standard decoder spends one of per level.
MAX_DEPTH = 200

# A JSON string (skipped whole, so brackets inside strings do not count) or a bracket.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def loads(data: str | bytes) -> Any:
    """``json.loads``, except that a value nested deeper than ``MAX_DEPTH`` becomes ``null``
    instead of raising ``RecursionError``. Malformed JSON still raises ``ValueError``."""
    try:
        return json.loads(data)
    except RecursionError:
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
        return json.loads(prune_depth(text, MAX_DEPTH))


def prune_depth(text: str, limit: int) -> str:
    """``text`` with every array or object that opens deeper than ``limit`` replaced by
    ``null``. Works on the text, iteratively, so the depth of the input does not matter."""
    pieces: list[str] = []
    depth = 0
    kept_until = 0
    skipping_from: int | None = None
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token[0] == '"':
            continue
        if token in "[{":
            depth += 1
            if depth > limit and skipping_from is None:
                skipping_from = match.start()
            continue
        if skipping_from is not None and depth == limit + 1:
            pieces.append(text[kept_until:skipping_from])
            pieces.append("null")
            kept_until = match.end()
            skipping_from = None
        depth -= 1
    pieces.append(text[kept_until:])
    return "".join(pieces)
