from __future__ import annotations

import pytest
from django.test import override_settings

from approvals.checks import check_channel_layer, check_secret_key, check_trigger_settings

GOOD_KEY = "tr_prod_" + "A1b2C3d4E5f6G7h8I9j0K1l2"


def _ids(messages: list) -> list[str]:
    return [m.id for m in messages]


@override_settings(TRIGGER_API_URL="https://api.trigger.dev", TRIGGER_SECRET_KEY=GOOD_KEY)
def test_a_well_formed_url_and_key_pass() -> None:
    assert check_trigger_settings() == []


@pytest.mark.parametrize(
    "url", ["api.trigger.dev", "ftp://api.trigger.dev", "https://", "https://x/?a=1"]
)
def test_a_malformed_url_is_reported(url: str) -> None:
    with override_settings(TRIGGER_API_URL=url, TRIGGER_SECRET_KEY=GOOD_KEY):
        assert _ids(check_trigger_settings()) == ["approvals.E001"]


@pytest.mark.parametrize("key", ["notakey123", "pk_prod_" + "a" * 24, "tr_prod_short"])
def test_a_malformed_key_is_reported_without_echoing_it(key: str) -> None:
    with override_settings(TRIGGER_API_URL="https://api.trigger.dev", TRIGGER_SECRET_KEY=key):
        messages = check_trigger_settings()
    assert _ids(messages) == ["approvals.E002"]
    assert key not in messages[0].msg
    assert key not in (messages[0].hint or "")


def test_a_url_without_a_key_is_reported() -> None:
    with override_settings(TRIGGER_API_URL="https://api.trigger.dev", TRIGGER_SECRET_KEY=None):
        assert _ids(check_trigger_settings()) == ["approvals.E003"]


def test_a_malformed_redis_url_is_reported() -> None:
    with override_settings(REDIS_URL="localhost:6379"):
        assert _ids(check_channel_layer()) == ["approvals.E004"]
    with override_settings(REDIS_URL="redis://127.0.0.1:6379/0"):
        assert check_channel_layer() == []


def test_the_development_secret_key_is_flagged() -> None:
    from django.conf import settings

    with override_settings(SECRET_KEY=settings.INSECURE_DEV_SECRET_KEY):
        assert _ids(check_secret_key()) == ["approvals.W001"]
    with override_settings(SECRET_KEY="x" * 60):
        assert check_secret_key() == []
