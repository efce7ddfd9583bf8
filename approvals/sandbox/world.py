"""The sandbox's state: runs, waitpoint tokens, realtime streams and the change log behind feeds.

One World is shared by the ticker thread, the private event loop of the sync transport, the
caller's event loop (async transport) and uvicorn's loop. So every mutation happens under one
re-entrant lock, and waiting is loop-agnostic: a waiter registers its own (loop, asyncio.Event)
and a change wakes it through ``loop.call_soon_threadsafe``.

The world keeps indexes beside ``runs`` and ``tokens`` (by status, tag, idempotency key, due
time), so that a list page, a tick and a new run cost what they touch rather than the size of
the world: benchmarks fill it with ten thousand runs. Runs and tokens therefore change only
through the world's methods (``update_run``, ``update_token``, ``complete_token``), which
keep the indexes in step; setting a field on a stored run or token directly would leave them
stale.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import string
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from approvals.sandbox.clock import Clock
from approvals.sandbox.indexes import SortedKeys
from approvals.sandbox.models import (
    TOKEN_COMPLETED,
    TOKEN_PENDING,
    Run,
    StreamRecord,
    Token,
    unix_ms,
)
from approvals.sandbox.rows import encode_row

_ALPHABET = string.digits + string.ascii_lowercase
# How many row changes the feeds remember; an older offset gets a must-refetch, as Electric does
# when it compacts or rotates a shape log.
CHANGE_LOG_SIZE = 5000
# Characters of an id that tell one world's ids from another's (about two billion worlds).
GENERATION_WIDTH = 6


# The order of the runs list (newest first) is by this key: createdAt in ms, then the id
# (docs/trigger-v4.md, "Pagination and filters").
RunKey = tuple[int, str]
# An index's name: ("all",), ("status", s), ("tag", t), ("status-tag", s, t), and for tokens
# also ("key", idempotency key); run statuses are the DB ones, token statuses the API ones.
IndexName = tuple[str, ...]
# Due times for the ticker: (moment, position in the world, id); the position keeps the order
# the ticker always had, the order things were added.
Due = tuple[datetime, int, str]


def run_key(run: Run) -> RunKey:
    return (unix_ms(run.created_at), run.id)


def _run_index_names(status: str, tags: Sequence[str]) -> tuple[IndexName, ...]:
    names: list[IndexName] = [("all",), ("status", status)]
    for tag in dict.fromkeys(tags):  # a tag given twice is still one entry
        names += [("tag", tag), ("status-tag", status, tag)]
    return tuple(names)


def token_index_status(token: Token) -> str:
    """The token's status as the API shows it (a timed-out token is stored COMPLETED)."""
    if token.status == TOKEN_PENDING:
        return "WAITING"
    return "TIMED_OUT" if token.output_is_error else "COMPLETED"


def _token_index_names(token: Token) -> tuple[IndexName, ...]:
    status = token_index_status(token)
    names: list[IndexName] = [("all",), ("status", status)]
    for tag in dict.fromkeys(token.tags):
        names += [("tag", tag), ("status-tag", status, tag)]
    # filter[idempotencyKey] matches the live key and the one moved aside.
    for key in dict.fromkeys((token.idempotency_key, token.inactive_idempotency_key)):
        if key is not None:
            names.append(("key", key))
    return tuple(names)


def _unindex(index: dict[IndexName, SortedKeys[Any]], names: Iterable[IndexName], key: Any) -> None:
    for name in names:
        keys = index[name]
        keys.discard(key)
        if not keys:
            # Every token has a tag of its own (run:<id>): keep no empty index behind for it.
            del index[name]


@dataclass(frozen=True)
class Change:
    seq: int
    run_id: str
    operation: str  # "insert" | "update"
    row: dict[str, str | None]  # the full row as it was after this change
    changed: frozenset[str]  # columns this change touched


def _base36(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 36)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits))


def new_generation() -> str:
    """A tag no earlier world has used (the "fingerprint" part of a cuid), for the ids of a
    world that starts afresh."""
    return _base36(secrets.randbits(31), GENERATION_WIDTH)


class World:
    def __init__(self, clock: Clock, seed: int = 0, generation: str | None = None) -> None:
        """``generation`` fixes the ids' per-world part (tests); by default each world draws
        a new one."""
        self.clock = clock
        self.lock = threading.RLock()
        self._seed = seed
        # Ids differ from one world to the next, as they do on Trigger.dev, where an id is
        # never issued twice; the seed still decides everything else (same seed, same demo).
        # With ids derived from the seed alone, every restart of an embedded sandbox re-issued
        # the ids of the previous one, and a dashboard that kept its database took the new
        # runs for the old ones: decided tokens waiting again, closed ones reopened. A reset
        # keeps the generation: it restores this world's start, ids included.
        self.generation = generation or new_generation()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._handle_epoch = 0
        # Bumps on every mutation and survives resets, so a waiter never sees an old value again.
        self.version = 0
        # Rows that list pages and feed snapshots looked at: tests check with it that a page
        # costs what it shows, not what the world holds.
        self.examined = 0
        self._init_state()

    def _init_state(self) -> None:
        self.rng = random.Random(f"world-{self._seed}")
        self.runs: dict[str, Run] = {}
        self.tokens: dict[str, Token] = {}
        self.streams: dict[tuple[str, str], list[StreamRecord]] = {}
        self.changes: deque[Change] = deque(maxlen=CHANGE_LOG_SIZE)
        self.seq = 0  # last change sequence number; feeds turn it into offsets
        self._next_id = 0
        self._next_run_number = 0
        # Where each run and token was added: the ticker's order, as iterating the dicts gave.
        self._positions: dict[str, int] = {}
        # Runs: what each is indexed under, the lists' indexes, the finishes due, who waits on
        # which token and which of those tokens are done (ready to resume).
        self._run_entries: dict[str, tuple[RunKey, tuple[IndexName, ...]]] = {}
        self._run_index: dict[IndexName, SortedKeys[RunKey]] = {}
        self._finish_entries: dict[str, Due] = {}
        self._finishing: SortedKeys[Due] = SortedKeys()
        self._waits: dict[str, str] = {}
        self._waiters_of: dict[str, set[str]] = {}
        self._resumable: set[str] = set()
        # Tokens: the same for lists, pending timeouts, and the live idempotency keys.
        self._token_entries: dict[str, tuple[IndexName, ...]] = {}
        self._token_index: dict[IndexName, SortedKeys[str]] = {}
        self._timeout_entries: dict[str, Due] = {}
        self._timeouts: SortedKeys[Due] = SortedKeys()
        self._live_keys: dict[str, str] = {}
        self._holders_of: dict[str, dict[str, None]] = {}

    # ---- ids -------------------------------------------------------------------------------

    def new_id(self) -> str:
        """A cuid-like internal id whose sort order is creation order (token lists sort by id)."""
        with self.lock:
            self._next_id += 1
            suffix = "".join(self.rng.choice(_ALPHABET) for _ in range(17 - GENERATION_WIDTH))
            return f"cm{_base36(self._next_id, 6)}{self.generation}{suffix}"

    def random_key(self, length: int = 24) -> str:
        with self.lock:
            return "".join(
                self.rng.choice(string.ascii_letters + string.digits) for _ in range(length)
            )

    def next_run_number(self) -> int:
        with self.lock:
            self._next_run_number += 1
            return self._next_run_number

    # ---- runs ------------------------------------------------------------------------------

    def add_run(self, run: Run) -> Run:
        with self.lock:
            self.runs[run.id] = run
            self._positions.setdefault(run.id, len(self._positions))
            self._index_run(run)
            row = encode_row(run)
            self._log(run.id, "insert", row, frozenset(row))
            return run

    def update_run(self, run_id: str, **fields: Any) -> Run:
        with self.lock:
            run = self.runs[run_id]
            before = encode_row(run)
            try:
                for name, value in fields.items():
                    if not hasattr(run, name):
                        raise AttributeError(name)
                    setattr(run, name, value)
                run.updated_at = self.clock.now()
            finally:
                self._index_run(run)  # even after a bad field name, for the fields set before
            after = encode_row(run)
            changed = frozenset(k for k in after if after[k] != before[k])
            self._log(run_id, "update", after, changed)
            return run

    def find_run(self, run_id: str) -> Run | None:
        """Accepts the friendly id (run_…) or the internal id."""
        with self.lock:
            return self.runs.get(run_id.removeprefix("run_"))

    def run_sources(
        self, statuses: Iterable[str] | None, tags: Iterable[str] | None
    ) -> list[SortedKeys[RunKey]]:
        """The indexes whose union holds every run with one of ``statuses`` (DB statuses) and
        one of ``tags``; None means any. Call with the lock held, and walk them under it."""
        return self._sources(self._run_index, statuses, tags)

    def runs_to_advance(self, now: datetime, *, resume: bool) -> list[Run]:
        """Every run a tick may move on, in the order they were added: those waiting on a
        completed token (when runs resume) and those whose finish is due."""
        with self.lock:
            chosen = set(self._resumable) if resume else set()
            for finish_at, _, run_id in self._finishing.ascending(
                None, inclusive=True, highest=None
            ):
                if finish_at > now:
                    break
                chosen.add(run_id)
            return [self.runs[run_id] for run_id in sorted(chosen, key=self._positions.__getitem__)]

    def position(self, item_id: str) -> int:
        """The order in which a run or token was added (iteration order of ``runs``/``tokens``)."""
        with self.lock:
            return self._positions[item_id]

    def _index_run(self, run: Run) -> None:
        # Called with the lock held, after any change to a stored run.
        entry = (run_key(run), _run_index_names(run.status, run.tags))
        old = self._run_entries.get(run.id)
        if old != entry:
            if old is not None:
                _unindex(self._run_index, old[1], old[0])
            for name in entry[1]:
                self._run_index.setdefault(name, SortedKeys()).add(entry[0])
            self._run_entries[run.id] = entry
        due = None if run.finish_at is None else (run.finish_at, self._positions[run.id], run.id)
        old_due = self._finish_entries.pop(run.id, None)
        if old_due != due:
            if old_due is not None:
                self._finishing.discard(old_due)
            if due is not None:
                self._finishing.add(due)
        if due is not None:
            self._finish_entries[run.id] = due
        token_id = run.waiting_on_token
        old_token_id = self._waits.pop(run.id, None)
        if old_token_id is not None and old_token_id != token_id:
            waiters = self._waiters_of[old_token_id]
            waiters.discard(run.id)
            if not waiters:
                del self._waiters_of[old_token_id]
        if token_id is not None:
            self._waits[run.id] = token_id
            self._waiters_of.setdefault(token_id, set()).add(run.id)
        self._mark_resumable(run.id)

    def _mark_resumable(self, run_id: str) -> None:
        # The tick's test for a run to resume: it waits on a token that is completed.
        token_id = self._waits.get(run_id)
        token = None if token_id is None else self.tokens.get(token_id)
        if token is not None and token.status == TOKEN_COMPLETED:
            self._resumable.add(run_id)
        else:
            self._resumable.discard(run_id)

    # ---- tokens ----------------------------------------------------------------------------

    def add_token(self, token: Token) -> Token:
        with self.lock:
            self.tokens[token.id] = token
            self._positions.setdefault(token.id, len(self._positions))
            self._index_token(token)
            self._bump()
            return token

    def update_token(self, token: Token, **fields: Any) -> Token:
        """Change a stored token's fields. Unlike a completion this wakes no waiter: no feed
        shows tokens, and nothing waited on these changes before the indexes existed."""
        with self.lock:
            try:
                for name, value in fields.items():
                    if not hasattr(token, name):
                        raise AttributeError(name)
                    setattr(token, name, value)
            finally:
                self._index_token(token)
            return token

    def token_sources(
        self, statuses: Iterable[str] | None, tags: Iterable[str] | None, key: str | None
    ) -> list[SortedKeys[str]]:
        """The indexes whose union holds every token with one of ``statuses`` (API statuses:
        WAITING, COMPLETED, TIMED_OUT) and one of ``tags``, or holding ``key`` as its live or
        former idempotency key; None means any. Call with the lock held."""
        if key is not None:
            # Few tokens ever hold one key: the other filters are checked one by one.
            found = self._token_index.get(("key", key))
            return [] if found is None else [found]
        return self._sources(self._token_index, statuses, tags)

    def tokens_due(self, now: datetime) -> list[Token]:
        """Pending tokens whose timeoutAt has passed, in the order they were added."""
        with self.lock:
            due: list[Due] = []
            for entry in self._timeouts.ascending(None, inclusive=True, highest=None):
                if entry[0] > now:
                    break
                due.append(entry)
            due.sort(key=lambda entry: entry[1])
            return [self.tokens[token_id] for _, _, token_id in due]

    def _index_token(self, token: Token) -> None:
        # Called with the lock held, after any change to a stored token.
        names = _token_index_names(token)
        old = self._token_entries.get(token.id)
        if old != names:
            _unindex(self._token_index, old or (), token.id)
            for name in names:
                self._token_index.setdefault(name, SortedKeys()).add(token.id)
            self._token_entries[token.id] = names
        due: Due | None = None
        if token.status == TOKEN_PENDING and token.timeout_at is not None:
            due = (token.timeout_at, self._positions[token.id], token.id)
        old_due = self._timeout_entries.pop(token.id, None)
        if old_due != due:
            if old_due is not None:
                self._timeouts.discard(old_due)
            if due is not None:
                self._timeouts.add(due)
        if due is not None:
            self._timeout_entries[token.id] = due
        old_key = self._live_keys.get(token.id)
        if old_key != token.idempotency_key:
            if old_key is not None:
                holders = self._holders_of[old_key]
                del holders[token.id]
                if not holders:
                    del self._holders_of[old_key]
            self._live_keys[token.id] = token.idempotency_key
            self._holders_of.setdefault(token.idempotency_key, {})[token.id] = None
        for run_id in self._waiters_of.get(token.id, ()):
            self._mark_resumable(run_id)

    def _sources(
        self,
        index: dict[IndexName, SortedKeys[Any]],
        statuses: Iterable[str] | None,
        tags: Iterable[str] | None,
    ) -> list[SortedKeys[Any]]:
        names: list[IndexName]
        if statuses is not None and tags is not None:
            names = [
                ("status-tag", s, t) for s in dict.fromkeys(statuses) for t in dict.fromkeys(tags)
            ]
        elif statuses is not None:
            names = [("status", s) for s in dict.fromkeys(statuses)]
        elif tags is not None:
            names = [("tag", t) for t in dict.fromkeys(tags)]
        else:
            names = [("all",)]
        return [index[name] for name in names if name in index]

    def find_token(self, token_id: str) -> Token | None:
        """Waitpoint routes accept the friendly id or the bare internal id (docs/trigger-v4.md,
        "Pagination and filters")."""
        with self.lock:
            return self.tokens.get(token_id.removeprefix("waitpoint_"))

    def find_token_by_key(self, key: str) -> Token | None:
        """The first token added among those whose live idempotency key is ``key``."""
        with self.lock:
            holders = self._holders_of.get(key)
            if not holders:
                return None
            return self.tokens[min(holders, key=self._positions.__getitem__)]

    def complete_token(
        self, token: Token, *, output: str | None, output_type: str, is_error: bool
    ) -> bool:
        """Like the engine's ``updateMany where status = PENDING``: only the first one wins."""
        with self.lock:
            if token.status != TOKEN_PENDING:
                return False
            token.status = TOKEN_COMPLETED
            token.completed_at = self.clock.now()
            token.output = output
            token.output_type = output_type
            token.output_is_error = is_error
            self._index_token(token)
            self._bump()
            return True

    # ---- streams ---------------------------------------------------------------------------

    def append_stream(self, run_id: str, key: str, data: Any) -> StreamRecord:
        with self.lock:
            records = self.streams.setdefault((run_id, key), [])
            record = StreamRecord(
                seq=len(records),
                timestamp_ms=int(self.clock.time() * 1000),
                chunk_id=self.random_key(21),
                data=data,
            )
            records.append(record)
            self._bump()
            return record

    def stream_records(self, run_id: str, key: str) -> list[StreamRecord]:
        with self.lock:
            return list(self.streams.get((run_id, key), []))

    # ---- feed change log -------------------------------------------------------------------

    @property
    def handle_epoch(self) -> int:
        with self.lock:
            return self._handle_epoch

    @property
    def oldest_seq(self) -> int:
        """The oldest offset a feed can still resume from."""
        with self.lock:
            return self.changes[0].seq - 1 if self.changes else self.seq

    def changes_after(self, seq: int) -> list[Change]:
        with self.lock:
            if not self.changes:
                return []
            # Sequence numbers in the log are consecutive: skip straight to the first newer one.
            skip = max(0, seq - self.changes[0].seq + 1)
            return list(islice(self.changes, skip, None))

    def reset_handles(self) -> None:
        """Invalidate every shape handle, so the next feed request gets a 409 must-refetch."""
        with self.lock:
            self._handle_epoch += 1
            self._bump()

    def _log(
        self, run_id: str, operation: str, row: dict[str, str | None], changed: frozenset[str]
    ) -> None:
        self.seq += 1
        self.changes.append(Change(self.seq, run_id, operation, row, changed))
        self._bump()

    # ---- waiting ---------------------------------------------------------------------------

    def _bump(self) -> None:
        # Called with the lock held.
        self.version += 1
        for loop, event in list(self._waiters):
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop is closed; its waiter is gone with it
                self._waiters.discard((loop, event))

    async def wait_for_change(self, version: int, timeout: float) -> int:
        """Wait until the world's version differs from ``version`` or ``timeout`` passes."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        with self.lock:
            if self.version != version:
                return self.version
            self._waiters.add((loop, event))
        try:
            await asyncio.wait_for(event.wait(), timeout=max(timeout, 0))
        except TimeoutError:
            pass
        finally:
            with self.lock:
                self._waiters.discard((loop, event))
        with self.lock:
            return self.version

    # ---- reset -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything (the scenario repopulates). Old handles become stale."""
        with self.lock:
            self._init_state()
            self._handle_epoch += 1
            self._bump()
