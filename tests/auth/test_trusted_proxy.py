"""Signing in through a trusted authentication proxy (oauth2-proxy and the like), end to end:
the dashboard served by uvicorn on loopback, the proxy played by httpx.

The proxy's address is 127.0.0.2 (AUTH_PROXY_TRUSTED_CIDRS=127.0.0.2/32). Linux accepts any
127.x source address on loopback, so a request sent from 127.0.0.1 comes from "anywhere else".
Uvicorn runs with --no-proxy-headers, as docs/auth-proxy.md asks for CIDR trust: the address
checked is the TCP peer's, never one named in X-Forwarded-For. The server's stderr goes to a
file, where the tests read its warnings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client

from approvals.auth.proxy import TrustedProxyMiddleware, WarningThrottle
from approvals.checks import check_auth_proxy
from approvals.models import ApprovalState, SsoIdentity
from tests.factories import approval_for_sandbox_run
from tests.served import database_url_of, loopback_production_env, served_dashboard
from tests.waiting import wait_until

User = get_user_model()

PROXY = "127.0.0.2"
ELSEWHERE = "127.0.0.1"
USER_HEADER = "X-Forwarded-User"
GROUPS_HEADER = "X-Forwarded-Groups"
EMAIL_HEADER = "X-Forwarded-Email"
SECRET_HEADER = "X-Proxy-Secret"
SECRET = "proxy-shared-secret-0123456789abcdef"
REVIEWER_GROUP = "approvers"
ADMIN_GROUP = "platform-admins"
BREAK_GLASS = "keeper"

PROXY_SETTINGS = {
    "AUTH_PROXY_USER_HEADER": USER_HEADER,
    "AUTH_PROXY_GROUPS_HEADER": GROUPS_HEADER,
    "AUTH_PROXY_EMAIL_HEADER": EMAIL_HEADER,
    "AUTH_PROXY_TRUSTED_CIDRS": f"{PROXY}/32",
    "AUTH_PROXY_SECRET_HEADER": SECRET_HEADER,
    "AUTH_PROXY_SECRET": SECRET,
    "OIDC_REVIEWER_GROUPS": REVIEWER_GROUP,
    "OIDC_ADMIN_GROUPS": ADMIN_GROUP,
    "SSO_BREAK_GLASS_USERS": BREAK_GLASS,
}


def as_user(name: str, *groups: str, email: str = "") -> dict[str, str]:
    """The headers the proxy sends for ``name``."""
    headers = {USER_HEADER: name, GROUPS_HEADER: ",".join(groups)}
    if email:
        headers[EMAIL_HEADER] = email
    return headers


@dataclass
class ProxiedSite:
    url: str
    log: Path

    def browser(
        self, headers: dict[str, str] | None = None, *, source: str = PROXY
    ) -> httpx.Client:
        """A browser whose requests reach the dashboard from ``source`` (the proxy's address by
        default) carrying ``headers`` on every request, as a proxy adds them."""
        return httpx.Client(
            base_url=self.url,
            headers=headers or {},
            timeout=20,
            transport=httpx.HTTPTransport(local_address=source),
        )

    def warning_about(self, text: str) -> str:
        """The server's log line containing ``text``, once it is there (bounded wait)."""

        def line() -> str | None:
            found = [ln for ln in self.log.read_text().splitlines() if text in ln]
            return found[0] if found else None

        found: str = wait_until(line, timeout=5)
        return found


@pytest.fixture(scope="module")
def proxied_server(
    django_db_setup: None, _session_sandbox: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxiedSite]:
    log = tmp_path_factory.mktemp("proxy") / "uvicorn.log"
    env = {
        **loopback_production_env(
            database_url=database_url_of(connection.settings_dict), sandbox=_session_sandbox
        ),
        **PROXY_SETTINGS,
    }
    # Without reading X-Forwarded-For (docs/auth-proxy.md, "Uvicorn and the client address").
    with served_dashboard(env, log=log, uvicorn_args=("--no-proxy-headers",)) as url:
        yield ProxiedSite(url=url, log=log)


@pytest.fixture
def site(transactional_db: None, proxied_server: ProxiedSite) -> ProxiedSite:
    return proxied_server


def _signed_in_as(page: httpx.Response, name: str) -> bool:
    return page.status_code == 200 and f'<span class="who">{name}</span>' in page.text


def _sent_to_sign_in(page: httpx.Response) -> bool:
    return page.status_code == 302 and page.headers["location"].startswith("/accounts/login/")


def _approve(browser: httpx.Client, token_id: str) -> httpx.Response:
    return browser.post(
        f"/approvals/{token_id}/approve",
        data={"comment": "fine by me"},
        headers={"X-CSRFToken": browser.cookies.get("csrftoken") or ""},
    )


# --- From the proxy's address -------------------------------------------------------------


def test_the_proxy_signs_a_reviewer_in_who_may_decide(site: ProxiedSite, live_sandbox: Any) -> None:
    approval = approval_for_sandbox_run(live_sandbox.start_run())
    browser = site.browser(as_user("rosa", REVIEWER_GROUP, "everyone", email="rosa@corp.example"))

    assert _signed_in_as(browser.get("/"), "rosa")
    rosa = User.objects.get(username="rosa")
    assert rosa.email == "rosa@corp.example"
    assert rosa.has_perm("approvals.decide_approval")
    assert not rosa.is_staff
    link = SsoIdentity.objects.get(user=rosa)
    assert (link.source, link.subject) == ("proxy", "rosa")

    decided = _approve(browser, approval.token_id)
    assert decided.status_code in (200, 302), decided.text[:300]
    approval.refresh_from_db()
    assert approval.state == ApprovalState.DECIDED


def test_the_admin_group_reaches_the_admin(site: ProxiedSite) -> None:
    browser = site.browser(as_user("adele", ADMIN_GROUP))

    assert browser.get("/admin/").status_code == 200
    assert User.objects.get(username="adele").is_superuser


def test_a_group_removed_at_the_proxy_takes_the_right_away_at_the_next_request(
    site: ProxiedSite, live_sandbox: Any
) -> None:
    approval = approval_for_sandbox_run(live_sandbox.start_run())
    browser = site.browser(as_user("adele", ADMIN_GROUP, REVIEWER_GROUP))
    assert browser.get("/admin/").status_code == 200

    browser.headers.update(as_user("adele"))  # the portal no longer lists her groups
    refused = browser.get("/admin/", follow_redirects=True)
    assert refused.status_code == 403
    assert "You may not open this" in refused.text
    decision = _approve(browser, approval.token_id)
    assert decision.status_code == 403 and "CSRF verification failed" not in decision.text
    approval.refresh_from_db()
    assert approval.state == ApprovalState.PENDING
    adele = User.objects.get(username="adele")
    assert not adele.is_staff and not adele.has_perm("approvals.decide_approval")


def test_a_changed_user_header_switches_to_a_new_session_of_the_new_user(
    site: ProxiedSite,
) -> None:
    browser = site.browser(as_user("alice", REVIEWER_GROUP))
    assert _signed_in_as(browser.get("/"), "alice")
    alices_session = browser.cookies["sessionid"]

    browser.headers.update(as_user("bob"))
    page = browser.get("/")
    assert _signed_in_as(page, "bob")
    assert "alice" not in page.text
    assert browser.cookies["sessionid"] != alices_session
    assert not Session.objects.filter(session_key=alices_session).exists()


def test_a_request_from_the_proxy_without_a_user_signs_its_session_out(
    site: ProxiedSite,
) -> None:
    browser = site.browser(as_user("alice"))
    assert _signed_in_as(browser.get("/"), "alice")

    del browser.headers[USER_HEADER]  # signed out at the portal
    assert _sent_to_sign_in(browser.get("/"))


def test_a_refused_identity_gets_the_branded_403_and_its_session_ends(site: ProxiedSite) -> None:
    browser = site.browser(as_user("alice"))
    assert _signed_in_as(browser.get("/"), "alice")

    browser.headers.update(as_user(BREAK_GLASS, ADMIN_GROUP))
    page = browser.get("/")
    assert page.status_code == 403
    assert "You are signed in at the portal, but not here" in page.text
    assert "break-glass account" in page.text
    assert "Trigger.dev approvals" in page.text  # the site's frame
    api = browser.get("/api/approvals")
    assert api.status_code == 403
    assert api.json()["code"] == "sign_in_refused"
    assert not User.objects.filter(username=BREAK_GLASS).exists()

    # Alice's session ended with the refusal: the same cookies from elsewhere are signed out.
    elsewhere = site.browser(source=ELSEWHERE)
    elsewhere.cookies = browser.cookies
    assert _sent_to_sign_in(elsewhere.get("/"))


def test_two_user_names_in_one_request_are_refused(site: ProxiedSite) -> None:
    browser = site.browser()
    page = browser.get("/", headers=[(USER_HEADER, "alice"), (USER_HEADER, "mallory")])

    assert page.status_code == 403
    assert "more than one user name" in page.text
    assert not User.objects.exists()


# --- From anywhere else -------------------------------------------------------------------


def test_headers_from_any_other_address_are_ignored_and_logged(site: ProxiedSite) -> None:
    browser = site.browser(as_user("mallory", ADMIN_GROUP), source=ELSEWHERE)

    assert _sent_to_sign_in(browser.get("/"))
    assert browser.get("/admin/", follow_redirects=True).url.path == "/accounts/login/"
    assert not User.objects.filter(username="mallory").exists()
    warning = site.warning_about("'mallory'")
    assert "WARNING" in warning and f"from {ELSEWHERE}" in warning


def test_headers_from_elsewhere_do_not_change_who_a_session_belongs_to(
    site: ProxiedSite,
) -> None:
    browser = site.browser(as_user("alice"))
    assert _signed_in_as(browser.get("/"), "alice")

    elsewhere = site.browser(as_user("mallory-two", ADMIN_GROUP), source=ELSEWHERE)
    elsewhere.cookies = browser.cookies
    assert _signed_in_as(elsewhere.get("/"), "alice")
    assert not User.objects.filter(username="mallory-two").exists()


def test_x_forwarded_for_cannot_claim_the_proxys_address(site: ProxiedSite) -> None:
    forged = {**as_user("mallory-three"), "X-Forwarded-For": PROXY}
    browser = site.browser(forged, source=ELSEWHERE)

    assert _sent_to_sign_in(browser.get("/"))
    assert f"from {ELSEWHERE}" in site.warning_about("'mallory-three'")


def test_the_shared_secret_is_believed_from_any_address(site: ProxiedSite) -> None:
    browser = site.browser({**as_user("sid"), SECRET_HEADER: SECRET}, source=ELSEWHERE)

    assert _signed_in_as(browser.get("/"), "sid")


def test_a_wrong_secret_is_ignored_and_logged_without_either_secret(site: ProxiedSite) -> None:
    wrong = "not-the-secret-" + SECRET[15:]
    browser = site.browser({**as_user("mallory-four"), SECRET_HEADER: wrong}, source=ELSEWHERE)

    assert _sent_to_sign_in(browser.get("/"))
    assert not User.objects.filter(username="mallory-four").exists()
    assert SECRET_HEADER in site.warning_about("'mallory-four'")
    log = site.log.read_text()
    assert wrong not in log and SECRET not in log


# --- Warnings, configuration (in process) ----------------------------------------------------


@pytest.fixture
def proxy_settings(settings: Any) -> Any:
    for name, value in PROXY_SETTINGS.items():
        setattr(settings, name, value)
    # The list settings, as settings.py reads them from the environment.
    settings.AUTH_PROXY_TRUSTED_CIDRS = [f"{PROXY}/32"]
    settings.OIDC_REVIEWER_GROUPS = [REVIEWER_GROUP]
    settings.OIDC_ADMIN_GROUPS = [ADMIN_GROUP]
    settings.SSO_BREAK_GLASS_USERS = [BREAK_GLASS]
    settings.SSO_PROXY = settings.SSO_ENABLED = True
    return settings


def test_a_flood_of_forged_headers_logs_ten_warnings_a_minute(
    db: None, proxy_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(REMOTE_ADDR="10.1.2.3")
    with caplog.at_level(logging.WARNING, logger="approvals.auth.proxy"):
        for _ in range(50):
            client.get("/healthz", headers=as_user("mallory"))

    assert len([r for r in caplog.records if r.name == "approvals.auth.proxy"]) == 10


def test_a_refused_htmx_request_reloads_the_page_rather_than_swap_the_refusal_in(
    db: None, proxy_settings: Any
) -> None:
    client = Client(REMOTE_ADDR=PROXY)
    answer = client.get("/", headers={**as_user(BREAK_GLASS), "HX-Request": "true"})

    assert answer.status_code == 200
    assert answer.headers["HX-Refresh"] == "true"
    assert client.get("/", headers=as_user(BREAK_GLASS)).status_code == 403


def test_warnings_held_back_are_counted_in_the_next_one_let_through() -> None:
    now = [0.0]
    throttle = WarningThrottle(limit=2, window=60, clock=lambda: now[0])

    assert [throttle.admit() for _ in range(5)] == [0, 0, None, None, None]
    now[0] = 61.0
    assert throttle.admit() == 3
    assert throttle.admit() == 0


WEAK_SECRET = "weak-secret-xyz"


def _ids() -> list[str]:
    return [m.id for m in check_auth_proxy() if m.id]


def test_a_well_configured_proxy_passes_the_checks(proxy_settings: Any) -> None:
    assert _ids() == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"AUTH_PROXY_TRUSTED_CIDRS": ["10.0.0.1/8"]}, "approvals.E005"),
        ({"AUTH_PROXY_TRUSTED_CIDRS": ["proxy.internal"]}, "approvals.E005"),
        (
            {
                "AUTH_PROXY_TRUSTED_CIDRS": [],
                "AUTH_PROXY_SECRET_HEADER": None,
                "AUTH_PROXY_SECRET": None,
            },
            "approvals.E006",
        ),  # fmt: skip
        ({"AUTH_PROXY_SECRET": None}, "approvals.E007"),
        ({"AUTH_PROXY_SECRET_HEADER": None}, "approvals.E007"),
        ({"AUTH_PROXY_SECRET": WEAK_SECRET}, "approvals.E007"),
        ({"AUTH_PROXY_GROUPS_HEADER": "X_Forwarded_Groups"}, "approvals.E008"),
    ],
    ids=["host-bits", "name", "nobody", "no-secret", "no-header", "short", "underscore"],
)
def test_a_misconfigured_proxy_is_reported(
    proxy_settings: Any, changes: dict[str, Any], expected: str
) -> None:
    for name, value in changes.items():
        setattr(proxy_settings, name, value)

    assert _ids() == [expected]
    said = " ".join(f"{m.msg} {m.hint}" for m in check_auth_proxy())
    assert WEAK_SECRET not in said and SECRET not in said  # a secret is never echoed


def test_without_the_user_header_nothing_is_checked(proxy_settings: Any) -> None:
    proxy_settings.AUTH_PROXY_TRUSTED_CIDRS = ["nonsense"]
    proxy_settings.SSO_PROXY = False

    assert _ids() == []


def test_the_middleware_will_not_start_on_a_configuration_error(proxy_settings: Any) -> None:
    proxy_settings.AUTH_PROXY_TRUSTED_CIDRS = ["10.0.0.300"]

    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    with pytest.raises(ImproperlyConfigured, match="approvals.E005"):
        TrustedProxyMiddleware(view)
