"""Sorted keys and the walks over them that serve list pages and the ticker in time that grows
with what they return, not with the size of the world.

A plain list kept sorted with ``bisect``: finding a place is O(log n); inserting moves the tail
of the list, which for the sandbox's keys (creation time, or cuid ids that sort by creation) is
nearly always the end, and a C ``memmove`` otherwise.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar


class Ordered(Protocol):
    """What a key needs: ``<`` (bisect, heapq.merge and the bounds use nothing else)."""

    def __lt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=Ordered)


class SortedKeys(Generic[K]):
    """A set of comparable keys in ascending order."""

    def __init__(self) -> None:
        self._keys: list[K] = []

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: K) -> None:
        keys: list[Any] = self._keys
        if not keys or keys[-1] < key:
            keys.append(key)  # the usual case: the newest key
        else:
            insort(keys, key)

    def discard(self, key: K) -> None:
        keys: list[Any] = self._keys
        at = bisect_left(keys, key)
        if at < len(keys) and keys[at] == key:
            del keys[at]

    def descending(self, below: K | None, *, inclusive: bool, lowest: K | None) -> Iterator[K]:
        """Keys under ``below`` (or every key), largest first, down to ``lowest`` included."""
        keys: list[Any] = self._keys
        if below is None:
            at = len(keys)
        else:
            at = bisect_right(keys, below) if inclusive else bisect_left(keys, below)
        while at > 0:
            at -= 1
            key = keys[at]
            if lowest is not None and key < lowest:
                return
            yield key

    def ascending(self, above: K | None, *, inclusive: bool, highest: K | None) -> Iterator[K]:
        """Keys over ``above`` (or every key), smallest first, up to ``highest`` included."""
        keys: list[Any] = self._keys
        if above is None:
            at = 0
        else:
            at = bisect_left(keys, above) if inclusive else bisect_right(keys, above)
        while at < len(keys):
            key = keys[at]
            if highest is not None and highest < key:
                return
            yield key
            at += 1


def _distinct(keys: Iterable[K]) -> Iterator[K]:
    # A key found through two indexes (a run with two of the wanted tags) comes out of the
    # merge twice in a row; it is one item.
    last: Any = _NOTHING
    for key in keys:
        if key != last:
            yield key
        last = key


_NOTHING = object()


def merged_descending(
    sources: Sequence[SortedKeys[K]], below: K | None, *, inclusive: bool, lowest: K | None
) -> Iterator[K]:
    walks = [s.descending(below, inclusive=inclusive, lowest=lowest) for s in sources]
    if len(walks) == 1:
        return walks[0]  # one index holds a key once
    return _distinct(heapq.merge(*walks, reverse=True))


def merged_ascending(
    sources: Sequence[SortedKeys[K]], above: K | None, *, inclusive: bool, highest: K | None
) -> Iterator[K]:
    walks = [s.ascending(above, inclusive=inclusive, highest=highest) for s in sources]
    if len(walks) == 1:
        return walks[0]
    return _distinct(heapq.merge(*walks))
