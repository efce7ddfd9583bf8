"""Readiness (``/readyz``): whether this web process can serve pages now.

``/healthz`` says the process answers (liveness) and touches nothing else, so a database
outage never gets healthy processes restarted. A load balancer or an orchestrator that should
stop sending traffic while the database (or, with several processes, Redis) is away asks
``/readyz`` instead: each check is one round trip with a short timeout. The answer names
what is away and nothing more (no address, no error text): anyone may ask, signed in or
not (README, "Running in production").
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

# A check that takes longer than this counts as away: load balancers time out in seconds.
REDIS_TIMEOUT_SECONDS = 2.0


def away() -> list[str]:
    """The parts this process needs that do not answer now, by name."""
    missing = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver's error: what matters is that it did not answer
        logger.warning("readyz: the database does not answer: %s", type(exc).__name__)
        missing.append("database")
    if settings.REDIS_URL:
        client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
        try:
            client.ping()
        except redis.RedisError as exc:
            logger.warning("readyz: Redis does not answer: %s", type(exc).__name__)
            missing.append("redis")
        finally:
            client.close()
    return missing
