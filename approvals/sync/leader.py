"""One sync worker at a time: the leader lock.

On PostgreSQL the leader holds a session-level advisory lock (``pg_try_advisory_lock``) on a
connection of its own, kept open for as long as it leads. When the process dies, even by
SIGKILL, PostgreSQL ends the session and releases the lock, so a stand-by worker takes over at
its next try. No table, no heartbeat, no expiry to tune.

On other databases (SQLite) the lock is local to the process: run one worker per database
file (the web process with ``SYNC_IN_WEB_PROCESS``, or ``manage.py sync_approvals``, not both).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from types import TracebackType
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger("approvals.leader")

# An arbitrary 64-bit key, the same in every worker: "approvals sync" as two words of ASCII.
LEADER_LOCK_KEY = 0x617070726F76_73


_local_locks: dict[tuple[str, int], threading.Lock] = {}
_local_guard = threading.Lock()


def _local_lock(alias: str, key: int) -> threading.Lock:
    with _local_guard:
        return _local_locks.setdefault((alias, key), threading.Lock())


class LeaderLock:
    """``try_acquire()`` without waiting; ``is_held()`` checks the leadership is still ours;
    ``release()`` gives it up. Usable as a context manager (releases on exit)."""

    def __init__(self, *, key: int = LEADER_LOCK_KEY, using: str = DEFAULT_DB_ALIAS) -> None:
        self.key = key
        self.using = using
        self.held = False
        self._connection: Any = None
        self._local: threading.Lock | None = None

    @property
    def uses_postgres(self) -> bool:
        return connections[self.using].vendor == "postgresql"

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if not self.uses_postgres:
            self._local = _local_lock(self.using, self.key)
            self.held = self._local.acquire(blocking=False)
            return self.held
        try:
            if self._connection is None:
                # A connection of our own: not the thread's, which Django may close or reuse.
                self._connection = connections.create_connection(self.using)
            with self._connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [self.key])
                self.held = bool(cursor.fetchone()[0])
        except Exception as exc:
            logger.warning("leader: could not try the lock: %s", type(exc).__name__)
            self._drop_connection()
            self.held = False
        return self.held

    def is_held(self) -> bool:
        """Still the leader? On PostgreSQL: our session is alive and holds the lock."""
        if not self.held:
            return False
        if not self.uses_postgres:
            return True
        try:
            with self._connection.cursor() as cursor:
                # A bigint advisory key shows in pg_locks as classid (high half) and objid.
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid() AND classid = %s AND objid = %s"
                    " AND objsubid = 1",
                    [self.key >> 32, self.key & 0xFFFFFFFF],
                )
                still = bool(cursor.fetchone()[0])
        except Exception as exc:
            logger.warning("leader: lost the lock connection: %s", type(exc).__name__)
            still = False
        if not still:
            self.held = False
            self._drop_connection()
        return still

    def release(self) -> None:
        if self._local is not None:
            if self.held:
                self._local.release()
            self._local = None
        elif self._connection is not None and self.held:
            try:
                with self._connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [self.key])
            except Exception as exc:  # closing the session releases it anyway
                logger.debug("leader: unlock failed: %s", type(exc).__name__)
        self.held = False
        self._drop_connection()

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def backend_pid(self) -> int | None:
        """The PostgreSQL backend holding (or trying) the lock, for tests and diagnostics."""
        if self._connection is None:
            return None
        with self._connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return int(cursor.fetchone()[0])

    def __enter__(self) -> LeaderLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def leader_lock(*, key: int = LEADER_LOCK_KEY, using: str = DEFAULT_DB_ALIAS) -> LeaderLock:
    """A leader lock, not yet tried: call ``try_acquire()`` until it answers True."""
    return LeaderLock(key=key, using=using)
