"""However many requests arrive at once, a web process holds at most DATABASE_POOL_MAX_SIZE
PostgreSQL connections. (With persistent connections under ASGI each request thread kept its
own: 200 anonymous requests left 75 idle connections, and a burst exhausted the server.)"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection

from tests.served import database_url_of, served_dashboard

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,  # the pool is PostgreSQL's; SQLite connections are per file
    pytest.mark.slow,
]

APP_NAME = "burst-test"


def _connections_of_the_web_process() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "select count(*) from pg_stat_activity where application_name = %s", [APP_NAME]
        )
        return int(cursor.fetchone()[0])


def test_a_burst_of_anonymous_requests_leaves_a_bounded_number_of_connections() -> None:
    url = database_url_of(connection.settings_dict, application_name=APP_NAME)
    with served_dashboard({"DATABASE_URL": url, "DATABASE_POOL_MAX_SIZE": "4"}) as app:

        def one(i: int) -> int:
            # A made-up session cookie: every request looks its session up in the database.
            response = httpx.get(f"{app}/", cookies={"sessionid": f"bogus{i}"}, timeout=60)
            return response.status_code

        with ThreadPoolExecutor(100) as pool:
            codes = list(pool.map(one, range(200)))
        held = _connections_of_the_web_process()

    assert all(code == 302 for code in codes), sorted(set(codes))  # to sign-in, none failed
    assert 0 < held <= 4
