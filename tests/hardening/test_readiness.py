"""``/readyz``: ready while the database (and Redis, when set) answer, 503 naming what does
not; ``/healthz`` answers either way (a database outage must not get processes restarted)."""

from __future__ import annotations

import os

import httpx
import pytest
from django.db import connection
from django.test import Client, override_settings

from tests.served import database_url_of, free_port, served_dashboard

REDIS_URL = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"


@override_settings(SECURE_SSL_REDIRECT=True)
def test_ready_in_process_over_plain_http_and_never_cached(db: None) -> None:
    answer = Client().get("/readyz")
    assert (answer.status_code, answer.content) == (200, b"ready")
    assert "no-cache" in answer["Cache-Control"] or "no-store" in answer["Cache-Control"]


def _database_away() -> dict[str, str]:
    """A database of the test's kind that is not there."""
    if connection.vendor == "sqlite":
        return {"DATABASE_URL": "sqlite:////nonexistent-directory/readyz.sqlite3"}
    return {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/nowhere",
        "DATABASE_POOL_TIMEOUT_SECONDS": "1",
    }


@pytest.mark.slow
def test_a_process_whose_database_is_away_is_alive_and_not_ready() -> None:
    with served_dashboard(_database_away()) as app:
        alive = httpx.get(f"{app}/healthz", timeout=30)
        ready = httpx.get(f"{app}/readyz", timeout=30)
    assert (alive.status_code, alive.text) == (200, "ok")
    assert ready.status_code == 503
    assert ready.text == "not ready: database unreachable\n"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_redis_when_set_is_checked_too() -> None:
    database = {"DATABASE_URL": database_url_of(connection.settings_dict)}
    with served_dashboard({**database, "REDIS_URL": REDIS_URL}) as app:
        ready = httpx.get(f"{app}/readyz", timeout=30)
    assert (ready.status_code, ready.text) == (200, "ready")

    away = f"redis://127.0.0.1:{free_port()}/0"
    with served_dashboard({**database, "REDIS_URL": away}) as app:
        not_ready = httpx.get(f"{app}/readyz", timeout=30)
    assert not_ready.status_code == 503
    assert not_ready.text == "not ready: redis unreachable\n"
