"""A JSON value as a tree a template can show as nested key/value lists.

Payloads, contexts and run metadata are untrusted upstream input: a task can send anything
JSON allows, as deep and as wide as the sync lets through. So the tree is bounded: containers
deeper than ``MAX_DEPTH`` are summarised, at most ``MAX_ENTRIES`` keys or items are shown in
all (the rest of each container is counted, "… N more"), and long strings are cut to
``MAX_STRING``. The raw JSON stays available on the page for everything cut here.

Nodes hold text as it came: the template escapes it and shows invisible characters through
the ``visible`` filter, like every other upstream string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from approvals.invisible import IGNORABLE

MAX_DEPTH = 6
MAX_ENTRIES = 200
MAX_STRING = 5_000

# Only web addresses become links: other schemes (javascript:, data:, file:, a custom app's)
# stay text. Whitespace, controls and invisible characters in an address make it text too: a
# link must point where its text says.
_WEB_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f-\x9f]+", re.IGNORECASE)


@dataclass(frozen=True)
class Node:
    """One value. ``kind`` is what the template branches on:

    - ``object`` / ``array``: ``entries`` (keys are ``None`` for array items) and ``more``,
      the entries left out because the page's budget ran out;
    - ``string`` (``clipped``: characters left out), ``url`` (``href`` is the link), ``number``
      (``text`` grouped by thousands, ``raw`` as sent), ``boolean``, ``null``;
    - ``elided``: a container too deep to show, ``text`` says what it holds.
    """

    kind: str
    text: str = ""
    raw: str = ""
    href: str = ""
    clipped: int = 0
    entries: list[Entry] = field(default_factory=list)
    more: int = 0

    @property
    def more_text(self) -> str:
        return group_thousands(self.more)

    @property
    def clipped_text(self) -> str:
        return group_thousands(self.clipped)


@dataclass(frozen=True)
class Entry:
    key: str | None
    value: Node


@dataclass
class _Budget:
    left: int


def web_url(text: str) -> str:
    """``text`` when it is an http(s) address with a host and nothing hidden, else ``""``."""
    if not _WEB_URL.fullmatch(text) or IGNORABLE.search(text):
        return ""
    try:
        parts = urlsplit(text)
    except ValueError:  # a malformed IPv6 host, for one
        return ""
    return text if parts.hostname else ""


def group_thousands(number: int | float) -> str:
    """1234567 as "1,234,567", 1234.5 as "1,234.5"; floats keep Python's shortest form."""
    return f"{number:,}"


def _count(value: Any) -> str:
    if isinstance(value, dict):
        return f"object with {group_thousands(len(value))} key{'s' * (len(value) != 1)}"
    return f"list of {group_thousands(len(value))} item{'s' * (len(value) != 1)}"


def _scalar(value: Any) -> Node:
    if value is None:
        return Node("null", text="null")
    if isinstance(value, bool):  # before int: True is an int
        return Node("boolean", text="yes" if value else "no", raw=str(value).lower())
    if isinstance(value, int | float):
        return Node("number", text=group_thousands(value), raw=repr(value))
    text = value if isinstance(value, str) else str(value)
    href = web_url(text)
    if href:
        return Node(
            "url", text=text[:MAX_STRING], href=href, clipped=max(0, len(text) - MAX_STRING)
        )
    return Node("string", text=text[:MAX_STRING], clipped=max(0, len(text) - MAX_STRING))


def _node(value: Any, depth: int, budget: _Budget) -> Node:
    if not isinstance(value, dict | list | tuple):
        return _scalar(value)
    if depth >= MAX_DEPTH and value:
        return Node("elided", text=f"{_count(value)}, nested too deep to show here")
    pairs: list[tuple[str | None, Any]] = (
        [(str(key), item) for key, item in value.items()]
        if isinstance(value, dict)
        else [(None, item) for item in value]
    )
    entries: list[Entry] = []
    for key, item in pairs:
        if budget.left <= 0:
            break
        budget.left -= 1
        entries.append(Entry(key, _node(item, depth + 1, budget)))
    kind = "object" if isinstance(value, dict) else "array"
    return Node(kind, entries=entries, more=len(pairs) - len(entries))


def value_tree(value: Any) -> Node:
    """``value`` (decoded JSON) as a bounded tree of ``Node``."""
    return _node(value, 0, _Budget(MAX_ENTRIES))


# The run's own announcement of its tokens: the page shows it already, as the approval itself
# and in "Tokens of this run", so the metadata card leaves it out.
ANNOUNCEMENT_KEY = "waitTokens"


def without_announcements(metadata: Any) -> dict[str, Any]:
    """The run's metadata without its ``waitTokens`` list."""
    if not isinstance(metadata, dict):
        return {}
    return {key: item for key, item in metadata.items() if key != ANNOUNCEMENT_KEY}
