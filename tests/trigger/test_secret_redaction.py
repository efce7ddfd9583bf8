"""The secret key never shows in a repr, an error message or a log line (docs/design.md,
"Secrets")."""

from __future__ import annotations

import logging

import pytest

from approvals.trigger import (
    AsyncTriggerClient,
    RetryPolicy,
    TransportError,
    TriggerClient,
    TriggerError,
)
from approvals.trigger.wire import RequestBuilder

from .conftest import SECRET, Sleeps
from .scripted_server import ScriptedServer, drop, json_reply


def test_client_reprs_mask_the_key(server: ScriptedServer) -> None:
    sync = TriggerClient(SECRET, server.url)
    factory = RequestBuilder(secret_key=SECRET, base_url=server.url)
    request = factory.retrieve_run("run_abc").request
    texts = [repr(sync), repr(factory), repr(request), repr(request.headers)]
    sync.close()
    assert all(SECRET not in text for text in texts)
    assert "tr_dev_***" in repr(sync)


async def test_async_client_repr_masks_the_key(server: ScriptedServer) -> None:
    async with AsyncTriggerClient(SECRET, server.url) as c:
        assert SECRET not in repr(c) and "tr_dev_***" in repr(c)


def test_errors_echoing_the_key_are_redacted(
    server: ScriptedServer, trigger: TriggerClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"error": f"Invalid API key {SECRET}", "code": "invalid_key"}
    server.add(json_reply(echo, 503), json_reply(echo, 401))
    with pytest.raises(TriggerError) as excinfo:
        trigger.runs.list_page()
    error = excinfo.value
    assert error.status == 401 and error.code == "invalid_key"
    assert "Invalid API key tr_dev_***" in str(error)
    for text in (str(error), repr(error), str(error.body), caplog.text):
        assert SECRET not in text
    assert "retrying" in caplog.text  # the retry was logged, without the key


def test_transport_errors_and_their_logs_hold_no_key(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.add(drop(), drop())
    policy = RetryPolicy(max_attempts=2, min_delay=0.001, sleep=Sleeps())
    with TriggerClient(SECRET, server.url, retry=policy) as c, pytest.raises(TransportError) as e:
        c.runs.retrieve("run_abc")
    assert SECRET not in str(e.value) and SECRET not in repr(e.value)
    assert SECRET not in caplog.text
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(TriggerError):
        TriggerClient("  ")
