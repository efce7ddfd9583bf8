"""The sandbox's state: runs, waitpoint tokens, realtime streams and the change log behind feeds.

One World is shared by the ticker thread, the private event loop of the sync transport, the
caller's event loop (async transport) and uvicorn's loop. So every mutation happens under one
re-entrant lock, and waiting is loop-agnostic: a waiter registers its own (loop, asyncio.Event)
and a change wakes it through ``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import string
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from approvals.sandbox.clock import Clock
from approvals.sandbox.models import TOKEN_COMPLETED, TOKEN_PENDING, Run, StreamRecord, Token
from approvals.sandbox.rows import encode_row

_ALPHABET = string.digits + string.ascii_lowercase
# How many row changes the feeds remember; an older offset gets a must-refetch, as Electric does
# when it compacts or rotates a shape log.
CHANGE_LOG_SIZE = 5000
# Characters of an id that tell one world's ids from another's (about two billion worlds).
GENERATION_WIDTH = 6


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
            row = encode_row(run)
            self._log(run.id, "insert", row, frozenset(row))
            return run

    def update_run(self, run_id: str, **fields: Any) -> Run:
        with self.lock:
            run = self.runs[run_id]
            before = encode_row(run)
            for name, value in fields.items():
                if not hasattr(run, name):
                    raise AttributeError(name)
                setattr(run, name, value)
            run.updated_at = self.clock.now()
            after = encode_row(run)
            changed = frozenset(k for k in after if after[k] != before[k])
            self._log(run_id, "update", after, changed)
            return run

    def find_run(self, run_id: str) -> Run | None:
        """Accepts the friendly id (run_…) or the internal id."""
        with self.lock:
            return self.runs.get(run_id.removeprefix("run_"))

    # ---- tokens ----------------------------------------------------------------------------

    def add_token(self, token: Token) -> Token:
        with self.lock:
            self.tokens[token.id] = token
            self._bump()
            return token

    def find_token(self, token_id: str) -> Token | None:
        """Waitpoint routes accept the friendly id or the bare internal id (docs/trigger-v4.md,
        "Pagination and filters")."""
        with self.lock:
            return self.tokens.get(token_id.removeprefix("waitpoint_"))

    def find_token_by_key(self, key: str) -> Token | None:
        with self.lock:
            for token in self.tokens.values():
                if token.idempotency_key == key:
                    return token
            return None

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
            return [change for change in self.changes if change.seq > seq]

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
