"""Several workers may run; exactly one leads, and a stand-by takes over when it goes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.db import connection

from approvals.sync import worker
from approvals.sync.leader import LeaderLock, leader_lock
from tests.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _on_postgres() -> None:
    assert connection.vendor == "postgresql", "the leader lock tests need PostgreSQL"


@pytest.fixture
def locks() -> Iterator[list[LeaderLock]]:
    made: list[LeaderLock] = []
    yield made
    for lock in made:
        lock.release()


def _lock(locks: list[LeaderLock]) -> LeaderLock:
    lock = leader_lock()
    locks.append(lock)
    return lock


def test_two_workers_make_exactly_one_leader(locks: list[LeaderLock]):
    first, second = _lock(locks), _lock(locks)

    assert [first.try_acquire(), second.try_acquire()] == [True, False]
    assert first.is_held() and not second.is_held()
    assert second.try_acquire() is False  # trying again changes nothing


def test_the_stand_by_takes_over_when_the_leader_releases(locks: list[LeaderLock]):
    leader, standby = _lock(locks), _lock(locks)
    assert leader.try_acquire() and not standby.try_acquire()

    leader.release()

    assert standby.try_acquire()
    assert not leader.try_acquire()


def test_the_stand_by_takes_over_when_the_leader_dies(locks: list[LeaderLock]):
    leader, standby = _lock(locks), _lock(locks)
    assert leader.try_acquire() and not standby.try_acquire()
    with connection.cursor() as cursor:  # what PostgreSQL does when a worker is killed
        cursor.execute("SELECT pg_terminate_backend(%s)", [leader.backend_pid()])

    assert wait_until(standby.try_acquire)
    assert not leader.is_held()


def test_only_the_leading_worker_runs_passes_and_the_other_takes_over(
    monkeypatch: pytest.MonkeyPatch,
):
    passes: list[str] = []
    monkeypatch.setattr(
        worker, "run_pass", lambda: passes.append(threading.current_thread().name) or (None, None)
    )
    stops = {name: threading.Event() for name in ("one", "two")}
    threads = {
        name: threading.Thread(
            target=worker.run_worker,
            kwargs={"interval": 0.05, "stop": stop, "realtime": False},
            name=name,
        )
        for name, stop in stops.items()
    }
    for thread in threads.values():
        thread.start()
    try:
        wait_until(lambda: len(passes) >= 5)
        leaders = set(passes)
        assert len(leaders) == 1
        (leader,) = leaders
        other = "two" if leader == "one" else "one"

        stops[leader].set()
        threads[leader].join(timeout=10)

        wait_until(lambda: other in passes)
        assert passes[-1] == other
    finally:
        for stop in stops.values():
            stop.set()
        for thread in threads.values():
            thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads.values())


def test_on_sqlite_the_lock_is_local_to_the_process(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(LeaderLock, "uses_postgres", property(lambda self: False))
    first, second = leader_lock(key=7), leader_lock(key=7)
    try:
        assert [first.try_acquire(), second.try_acquire()] == [True, False]
        first.release()
        assert second.try_acquire()
    finally:
        first.release()
        second.release()
