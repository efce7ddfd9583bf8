"""Single sign-on around the sign-in itself: accounts follow the provider's subject, a provider
rotating its keys needs no restart here, signing out closes the user's sockets, and a broken
configuration is reported by the system checks and at start-up."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import websockets
from django.contrib.auth import get_user_model
from django.core import checks
from websockets.typing import Origin

from approvals.auth import checks as sso_checks
from approvals.auth import oidc_client
from tests.served import ROOT, SERVED_SECRET_KEY, free_port, served_dashboard
from tests.sso.conftest import REVIEWER_GROUP, Site, serve_site, site_env
from tests.sso.provider import OpenIdProvider, running_provider
from tests.waiting import wait_until

User = get_user_model()


def test_a_renamed_person_keeps_their_account(site: Site) -> None:
    site.provider.set_person("kim", groups=[REVIEWER_GROUP])
    site.sign_in("kim")
    kim = User.objects.get(username="kim")

    site.provider.set_person("kim", username="kimberly", groups=[REVIEWER_GROUP])
    site.sign_in("kim")
    kim.refresh_from_db()
    assert kim.username == "kimberly"
    assert User.objects.filter(username="kim").count() == 0


def test_a_name_taken_by_another_person_is_refused(site: Site) -> None:
    site.provider.set_person("lee", groups=[REVIEWER_GROUP])
    site.sign_in("lee")
    # Someone else at the provider now calls themselves "lee".
    site.provider.set_person("impostor", username="lee", groups=[REVIEWER_GROUP])
    _, refused = site.sign_in("impostor")
    assert refused.status_code == 403
    assert "belongs to someone else" in refused.text
    assert User.objects.filter(username="lee").count() == 1


def test_a_provider_that_rotated_its_keys_signs_people_in_without_a_restart(
    transactional_db: None, app_port: int, live_sandbox: Any, tmp_path: Path
) -> None:
    port = free_port()
    people = tmp_path / "people.json"
    people.write_text("{}")
    origins = [f"http://127.0.0.1:{app_port}"]
    with running_provider(origins, port=port, people=people) as first:
        first.set_person("mona", groups=[REVIEWER_GROUP])
        with serve_site(first, app_port, live_sandbox) as site:
            _, page = site.sign_in("mona")  # the dashboard now holds the first key set
            assert page.status_code == 200
            first.process.terminate()
            first.process.wait(timeout=10)
            with running_provider(origins, port=port, people=people) as rotated:
                _, page = Site(url=site.url, provider=rotated).sign_in("mona")
                assert page.status_code == 200, page.text[:300]
                assert str(page.url) == f"{site.url}/"


def test_signing_out_closes_the_users_open_sockets(site: Site) -> None:
    site.provider.set_person("nina", groups=[REVIEWER_GROUP])
    browser, _ = site.sign_in("nina")
    cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    closed: dict[str, Any] = {}

    async def watch() -> None:
        url = site.url.replace("http://", "ws://") + "/ws/approvals/"
        origin = Origin(site.url)
        async with websockets.connect(
            url, origin=origin, additional_headers={"Cookie": cookie}
        ) as socket:
            await socket.send('{"type": "refresh", "query": ""}')  # as the page does on open
            await socket.recv()  # the answer: the socket is open and listening
            closed["open"] = True
            try:
                # Well before the socket's own session check (every 15-45 s) could notice.
                async with asyncio.timeout(10):
                    while True:
                        await socket.recv()
            except websockets.ConnectionClosed as exc:
                closed["code"] = exc.rcvd.code if exc.rcvd else None

    async def run() -> None:
        task = asyncio.create_task(watch())
        await asyncio.to_thread(wait_until, lambda: closed.get("open") or task.done())
        await asyncio.to_thread(
            browser.post, "/accounts/logout/", headers=site.csrf_headers(browser)
        )
        await task

    asyncio.run(run())
    assert closed.get("code") == 4401


# --- Checks ------------------------------------------------------------------------------------


def _messages(settings: Any, deploy: bool = False, **values: Any) -> list[Any]:
    for name, value in values.items():
        setattr(settings, name, value)
    settings.SSO_OIDC = settings.OIDC_ISSUER is not None
    settings.SSO_ENABLED = settings.SSO_OIDC or settings.SSO_PROXY
    found = checks.run_checks(tags=[checks.Tags.security], include_deployment_checks=deploy)
    return [m for m in found if m.id and m.id.startswith(("approvals.E01", "approvals.W01"))]


GOOD: dict[str, Any] = {"OIDC_CLIENT_ID": "dashboard", "OIDC_CLIENT_SECRET": "s3cret-value"}


@pytest.mark.parametrize(
    ("issuer", "extra", "words"),
    [
        ("http://login.example.com", GOOD, "must use https://"),
        ("login.example.com", GOOD, "must be an http(s) URL"),
        ("https://login.example.com/.well-known/openid-configuration", GOOD, "not its discovery"),
        (
            "https://login.example.com",
            {"OIDC_CLIENT_ID": None, "OIDC_CLIENT_SECRET": "x"},
            "OIDC_CLIENT_ID is not",
        ),
        (
            "https://login.example.com",
            {**GOOD, "OIDC_SCOPES": "email profile"},
            "must include 'openid'",
        ),
        (
            "https://login.example.com",
            {**GOOD, "OIDC_TOKEN_AUTH_METHOD": "private_key_jwt"},
            "OIDC_TOKEN_AUTH_METHOD",
        ),
    ],
)
def test_a_malformed_configuration_is_an_error_for_every_command(
    settings: Any, issuer: str, extra: dict[str, Any], words: str
) -> None:
    found = _messages(settings, OIDC_ISSUER=issuer, **extra)
    assert [m.id for m in found] == [sso_checks.MALFORMED]
    assert words in found[0].msg


def test_plain_http_is_accepted_on_loopback_only(settings: Any) -> None:
    assert _messages(settings, OIDC_ISSUER="http://127.0.0.1:9", **GOOD) == []
    assert _messages(settings, OIDC_ISSUER="http://localhost:9", **GOOD) == []
    assert oidc_client.issuer_problem("http://10.0.0.5") is not None


def test_an_unreachable_provider_is_an_error_of_the_deploy_checks(settings: Any) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    found = _messages(settings, deploy=True, OIDC_ISSUER=closed, **GOOD)
    assert [m.id for m in found] == [sso_checks.UNREACHABLE]
    assert "could not be read (connection refused or host unreachable)" in found[0].msg
    assert "s3cret" not in found[0].msg


def test_a_provider_naming_another_issuer_is_reported(
    settings: Any, provider: OpenIdProvider
) -> None:
    elsewhere = provider.url.replace("127.0.0.1", "localhost")
    found = _messages(settings, deploy=True, OIDC_ISSUER=elsewhere, **GOOD)
    assert [m.id for m in found] == [sso_checks.UNREACHABLE]
    assert "names the issuer" in found[0].msg


def test_a_working_provider_passes_the_deploy_checks(
    settings: Any, provider: OpenIdProvider
) -> None:
    assert _messages(settings, deploy=True, OIDC_ISSUER=provider.url, **GOOD) == []


def test_break_glass_without_sso_is_a_warning(settings: Any) -> None:
    found = _messages(settings, OIDC_ISSUER=None, SSO_PROXY=False, SSO_BREAK_GLASS_USERS=["root"])
    assert [m.id for m in found] == [sso_checks.BREAK_GLASS_WITHOUT_SSO]


def _production_env(provider: OpenIdProvider, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "OIDC_", "TRIGGER_", "AUTH_PROXY_"))
    }
    env.update(
        {
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": SERVED_SECRET_KEY,
            "DJANGO_ALLOWED_HOSTS": "approvals.example.com",
            "TRIGGER_API_URL": "https://api.trigger.dev",
            "TRIGGER_SECRET_KEY": "tr_prod_" + "a1B2c3D4e5F6g7H8i9J0k1L2",
            "DATABASE_URL": "sqlite:///" + str(ROOT / "var" / "sso-deploy-check.sqlite3"),
            **provider.env(),
            **extra,
        }
    )
    return env


def test_production_settings_with_sso_pass_the_deployment_checklist(
    provider: OpenIdProvider,
) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(provider),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_web_process_will_not_start_with_a_malformed_configuration(
    transactional_db: None, provider: OpenIdProvider, live_sandbox: Any
) -> None:
    env = site_env(provider, live_sandbox, OIDC_ISSUER="http://login.example.com")
    with pytest.raises(AssertionError) as failed, served_dashboard(env, lifespan="on"):
        pass
    assert "approvals.E010" in str(failed.value)
    assert "must use https://" in str(failed.value)
