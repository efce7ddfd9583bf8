"""Signing in with OpenID Connect, end to end: a real provider on loopback (npm's
oidc-provider), the dashboard served by uvicorn, a browser played by httpx.

The pages at stake: anonymous visitors go straight to the provider and come back to the page
they asked for; claims and groups become the account and its rights, and change with the
provider; signing out ends both sessions; every forged, replayed or expired answer ends on a
clear page, never a 500, and repeated failures are throttled.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.conf import global_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.utils import timezone

from approvals.auth.oidc_views import STATE_PREFIX
from approvals.models import ApprovalState, SsoIdentity
from tests.factories import approval_for_sandbox_run
from tests.served import SERVED_SECRET_KEY
from tests.sso.conftest import ADMIN_GROUP, REVIEWER_GROUP, Site, serve_site
from tests.sso.provider import OpenIdProvider

User = get_user_model()


def test_an_anonymous_visitor_goes_to_the_provider_and_back_to_the_page_asked_for(
    site: Site,
) -> None:
    site.provider.set_person(
        "alice", groups=[REVIEWER_GROUP], name="Alice Smith", email="alice@corp.example"
    )
    browser, page = site.sign_in("alice", path="/history/?q=billing")

    assert page.status_code == 200
    assert str(page.url) == f"{site.url}/history/?q=billing"
    assert "alice" in page.text
    user = User.objects.get(username="alice")
    assert (user.email, user.first_name, user.last_name) == ("alice@corp.example", "Alice", "Smith")
    assert user.has_perm("approvals.decide_approval")
    assert not user.is_staff
    link = SsoIdentity.objects.get(user=user)
    assert (link.source, link.subject) == (site.provider.url, "alice")
    # The session ends at a fixed time (OIDC_SESSION_MINUTES, 8 hours by default).
    session = Session.objects.get(session_key=browser.cookies.get("sessionid"))
    lasts = session.expire_date - timezone.now()
    assert timedelta(hours=7, minutes=55) < lasts <= timedelta(hours=8)


def test_the_authorization_request_uses_pkce_s256_a_state_and_a_nonce(site: Site) -> None:
    browser = site.browser()
    start = browser.get("/oidc/authenticate/?next=/history/")
    assert start.status_code == 302
    location = start.headers["location"]
    assert location.startswith(site.provider.url)
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 20 and len(query["nonce"][0]) >= 20
    assert query["redirect_uri"] == [f"{site.url}/oidc/callback/"]
    assert query["scope"] == ["openid email profile"]


def test_groups_come_from_the_provider_and_follow_it_at_the_next_sign_in(site: Site) -> None:
    payments = Group.objects.create(name="payments")
    Group.objects.create(name="marketing")  # a Django group the provider does not list
    site.provider.set_person("bob", groups=[REVIEWER_GROUP, "payments", "not-a-django-group"])
    site.sign_in("bob")
    bob = User.objects.get(username="bob")
    assert set(bob.groups.values_list("name", flat=True)) == {"Reviewers", "payments"}
    bob.groups.add(Group.objects.get(name="marketing"))  # added by hand: the provider rules

    site.provider.set_person("bob", groups=["payments"])
    site.sign_in("bob")  # a new browser: a new sign-in at the provider too
    bob.refresh_from_db()
    assert list(bob.groups.all()) == [payments]
    assert not bob.has_perm("approvals.decide_approval")


def test_the_admin_groups_make_admins_and_only_while_the_provider_says_so(site: Site) -> None:
    site.provider.set_person("carol", groups=[ADMIN_GROUP])
    browser, _ = site.sign_in("carol")
    assert browser.get("/admin/").status_code == 200

    site.provider.set_person("carol", groups=[])
    browser, _ = site.sign_in("carol")
    refused = browser.get("/admin/", follow_redirects=True)
    assert refused.status_code == 403
    assert "You may not open this" in refused.text


def _approve_by_page(site: Site, browser: httpx.Client, token_id: str) -> httpx.Response:
    return browser.post(
        f"/approvals/{token_id}/approve",
        data={"comment": "fine by me"},
        headers=site.csrf_headers(browser),
    )


def _approve_by_api(site: Site, browser: httpx.Client, token_id: str) -> httpx.Response:
    return browser.post(
        f"/api/approvals/{token_id}/approve",
        json={"comments": "fine by me"},
        headers=site.csrf_headers(browser),
    )


@pytest.mark.parametrize("decide", [_approve_by_page, _approve_by_api], ids=["page", "api"])
def test_a_user_outside_the_reviewer_groups_may_not_decide(
    site: Site, live_sandbox: Any, decide: Any
) -> None:
    approval = approval_for_sandbox_run(live_sandbox.start_run())
    site.provider.set_person("dave", groups=["everyone"])
    browser, _ = site.sign_in("dave")

    refused = decide(site, browser, approval.token_id)
    assert refused.status_code == 403
    approval.refresh_from_db()
    assert approval.state == ApprovalState.PENDING

    site.provider.set_person("erin", groups=[REVIEWER_GROUP])
    browser, _ = site.sign_in("erin")
    accepted = decide(site, browser, approval.token_id)
    assert accepted.status_code in (200, 302), accepted.text[:300]
    approval.refresh_from_db()
    assert approval.state == ApprovalState.DECIDED


def _logout_confirmation(site: Site, browser: httpx.Client, page: httpx.Response) -> httpx.Response:
    """Press "Yes, sign me out" on the provider's end-session page."""
    assert site.at_provider(page), page.url
    form = re.search(r'<form[^>]*id="op.logoutForm"[^>]*>', page.text) or re.search(
        r"<form[^>]*>", page.text
    )
    assert form, page.text[:500]
    action = re.search(r'action="([^"]+)"', form.group(0))
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text)
    assert action and xsrf
    return browser.post(
        httpx.URL(str(page.url)).join(action.group(1)),
        data={"xsrf": xsrf.group(1), "logout": "yes"},
        follow_redirects=True,
    )


def test_signing_out_ends_the_dashboard_session_and_the_providers(site: Site) -> None:
    site.provider.set_person("frank", groups=[REVIEWER_GROUP])
    browser, _ = site.sign_in("frank")
    old_session = browser.cookies.get("sessionid")
    assert old_session

    confirm = browser.post(
        "/accounts/logout/", headers=site.csrf_headers(browser), follow_redirects=True
    )
    done = _logout_confirmation(site, browser, confirm)
    # (Authlib sends a state along; the public page has no use for it.)
    assert done.url.path == "/accounts/signed-out/" and str(done.url).startswith(site.url)
    assert "You are signed out" in done.text

    # The provider asks for a password again: its session ended too.
    again = browser.get("/", follow_redirects=True)
    assert site.at_provider(again)
    assert 'name="login"' in again.text
    # And the old session cookie opens nothing here.
    stolen = site.browser()
    stolen.cookies.set("sessionid", old_session)
    assert stolen.get("/", follow_redirects=False).status_code == 302


def test_a_forged_state_is_refused_with_a_clear_page(site: Site) -> None:
    answer = site.browser().get("/oidc/callback/?code=anything&state=forged-state-value")
    assert answer.status_code == 400
    assert "not one this browser started" in answer.text
    assert "Sign in again" in answer.text


def _to_the_callback(site: Site, login: str, browser: httpx.Client) -> tuple[httpx.Response, str]:
    """Sign in at the provider, stopping at the redirect back to the dashboard; returns the
    response and the callback URL."""
    start = browser.get("/oidc/authenticate/?next=/")
    page = browser.get(start.headers["location"], follow_redirects=True)
    found = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert found
    response = browser.post(
        httpx.URL(str(page.url)).join(found.group(1)),
        data={"prompt": "login", "login": login, "password": "any"},
    )
    while not response.headers.get("location", "").startswith(f"{site.url}/oidc/callback/"):
        assert response.is_redirect, f"{response.status_code} at {response.url}"
        response = browser.get(httpx.URL(str(response.url)).join(response.headers["location"]))
    return response, response.headers["location"]


def test_a_replayed_answer_is_refused(site: Site) -> None:
    site.provider.set_person("gina", groups=[REVIEWER_GROUP])
    browser = site.browser()
    _, callback = _to_the_callback(site, "gina", browser)
    assert browser.get(callback).status_code == 302  # signed in

    again = browser.get(callback)
    assert again.status_code == 400
    assert "already used" in again.text
    elsewhere = site.browser().get(callback)
    assert elsewhere.status_code == 400


def _tamper_with_state(browser: httpx.Client, callback: str, **changes: Any) -> None:
    """Change what the served app keeps in the browser's session about the sign-in under
    way (its sessions are signed with its own key)."""
    state = parse_qs(urlsplit(callback).query)["state"][0]
    with override_settings(SECRET_KEY=SERVED_SECRET_KEY):
        session = SessionStore(session_key=browser.cookies.get("sessionid"))
        entry = session[STATE_PREFIX + state]
        entry["data"].update(changes)
        session[STATE_PREFIX + state] = entry
        session.save()


def test_an_id_token_with_another_nonce_is_refused(site: Site) -> None:
    site.provider.set_person("hank", groups=[REVIEWER_GROUP])
    browser = site.browser()
    _, callback = _to_the_callback(site, "hank", browser)
    _tamper_with_state(browser, callback, nonce="not-the-nonce-that-was-sent")

    answer = browser.get(callback)
    assert answer.status_code == 400
    assert "nonce" in answer.text
    assert not User.objects.filter(username="hank").exists()


def test_an_expired_state_is_refused(site: Site) -> None:
    site.provider.set_person("ivy", groups=[REVIEWER_GROUP])
    browser = site.browser()
    _, callback = _to_the_callback(site, "ivy", browser)
    _tamper_with_state(browser, callback, started=time.time() - 3600)

    answer = browser.get(callback)
    assert answer.status_code == 400
    assert "expired" in answer.text
    assert not User.objects.filter(username="ivy").exists()


def test_the_provider_refusing_ends_on_a_clear_page(site: Site) -> None:
    browser = site.browser()
    start = browser.get("/oidc/authenticate/")
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    answer = browser.get(
        f"/oidc/callback/?error=access_denied&error_description=User+cancelled&state={state}"
    )
    assert answer.status_code == 403
    assert "did not sign you in: User cancelled" in answer.text


def test_failed_callbacks_are_throttled(
    transactional_db: None, provider: OpenIdProvider, app_port: int, live_sandbox: Any
) -> None:
    with serve_site(provider, app_port, live_sandbox, LOGIN_FAILURE_LIMIT="3") as site:
        browser = site.browser()
        for attempt in range(2):
            assert browser.get(f"/oidc/callback/?code=x&state=forged-{attempt}").status_code == 400
        # The third failure is the limit (as for passwords): it and what follows wait.
        locked = browser.get("/oidc/callback/?code=x&state=forged-3")
        assert locked.status_code == 429
        assert "Too many" in locked.text
        assert browser.get("/oidc/callback/?code=x&state=forged-4").status_code == 429
        # A real sign-in from the locked address waits out the lock too.
        provider.set_person("jack", groups=[REVIEWER_GROUP])
        _, callback = _to_the_callback(site, "jack", site.browser())
        assert site.browser().get(callback).status_code == 429


def test_password_sign_in_is_off_with_sso_and_the_sign_in_page_goes_to_the_provider(
    site: Site,
) -> None:
    User.objects.create_superuser("root", "root@example.com", "root-password-123")
    browser = site.browser()
    page = browser.get("/accounts/login/?next=/history/", follow_redirects=True)
    assert site.at_provider(page)
    # A password posted anyway signs nobody in.
    browser.get(f"{site.url}/accounts/signed-out/")
    posted = browser.post(
        "/accounts/login/",
        data={"username": "root", "password": "root-password-123"},
        headers=site.csrf_headers(browser),
    )
    assert posted.status_code == 302 and "/oidc/authenticate/" in posted.headers["location"]
    assert browser.get("/").status_code == 302
    # The admin's own sign-in page sends people to the same place.
    admin = browser.get("/admin/login/?next=/admin/")
    assert admin.status_code == 302 and "/oidc/authenticate/" in admin.headers["location"]


def served_hashing() -> Any:
    """The served app's password hasher (the tests' own is a fast one it does not know)."""
    return override_settings(PASSWORD_HASHERS=[global_settings.PASSWORD_HASHERS[0]])


def test_break_glass_admins_sign_in_with_a_password_and_nobody_else(
    transactional_db: None, provider: OpenIdProvider, app_port: int, live_sandbox: Any
) -> None:
    with served_hashing():
        User.objects.create_superuser("root", "root@example.com", "root-password-123")
        User.objects.create_user("olga", "olga@example.com", "olga-password-123")
    with serve_site(
        provider, app_port, live_sandbox, SSO_BREAK_GLASS_USERS="root,olga", LOGIN_FAILURE_LIMIT="2"
    ) as site:
        browser = site.browser()
        form = browser.get("/accounts/login/")
        assert form.status_code == 200
        assert "Break-glass access" in form.text and "Sign in with single sign-on" in form.text

        def post(username: str, password: str) -> httpx.Response:
            return browser.post(
                "/accounts/login/",
                data={"username": username, "password": password, "next": "/"},
                headers=site.csrf_headers(browser),
            )

        # Named, but not an admin: refused like a wrong password.
        assert post("olga", "olga-password-123").status_code == 200
        assert browser.get("/").status_code == 302
        # The named admin signs in.
        assert post("root", "root-password-123").status_code == 302
        assert browser.get("/").status_code == 200
        # And a break-glass name cannot be claimed through the provider.
        provider.set_person("root", groups=[ADMIN_GROUP])
        _, refused = site.sign_in("root")
        assert refused.status_code == 403
        assert "break-glass account" in refused.text

        # The password path is throttled like any sign-in (LOGIN_FAILURE_LIMIT=2 here).
        thief = site.browser()
        for _ in range(2):
            thief.post(
                "/accounts/login/",
                data={"username": "root", "password": "wrong"},
                headers=site.csrf_headers(thief),
            )
        locked = thief.post(
            "/accounts/login/",
            data={"username": "root", "password": "root-password-123"},
            headers=site.csrf_headers(thief),
        )
        assert locked.status_code == 429


def test_a_wrong_client_secret_is_the_dashboards_fault_and_locks_nobody_out(
    transactional_db: None, provider: OpenIdProvider, app_port: int, live_sandbox: Any
) -> None:
    provider.set_person("quinn", groups=[REVIEWER_GROUP])
    with serve_site(
        provider,
        app_port,
        live_sandbox,
        OIDC_CLIENT_SECRET="not-the-secret",
        LOGIN_FAILURE_LIMIT="2",
    ) as site:
        for _ in range(3):
            _, page = site.sign_in("quinn")
            assert page.status_code == 502
            assert "misconfigured on this dashboard" in page.text
            assert "not-the-secret" not in page.text


def test_wrong_passwords_do_not_lock_the_address_out_of_single_sign_on(
    transactional_db: None, provider: OpenIdProvider, app_port: int, live_sandbox: Any
) -> None:
    provider.set_person("rosa", groups=[REVIEWER_GROUP])
    with serve_site(
        provider, app_port, live_sandbox, SSO_BREAK_GLASS_USERS="root", LOGIN_FAILURE_LIMIT="2"
    ) as site:
        typist = site.browser()
        for name in ("root", "rosa", "someone"):
            typist.post(
                "/accounts/login/",
                data={"username": name, "password": "wrong"},
                headers=site.csrf_headers(typist),
            )
        # The address is locked for passwords...
        locked = typist.post(
            "/accounts/login/",
            data={"username": "root", "password": "wrong"},
            headers=site.csrf_headers(typist),
        )
        assert locked.status_code == 429
        # ...and not for single sign-on, the way in of everyone else behind it.
        _, page = site.sign_in("rosa")
        assert page.status_code == 200
        assert str(page.url) == f"{site.url}/"


def test_a_trailing_slash_on_the_issuer_keeps_everyones_account(
    transactional_db: None, provider: OpenIdProvider, app_port: int, live_sandbox: Any
) -> None:
    provider.set_person("sam", groups=[REVIEWER_GROUP])
    with serve_site(provider, app_port, live_sandbox) as site:
        site.sign_in("sam")
    with serve_site(provider, app_port, live_sandbox, OIDC_ISSUER=provider.url + "/") as site:
        _, page = site.sign_in("sam")
        assert page.status_code == 200, page.text[:300]
    assert SsoIdentity.objects.filter(user__username="sam").count() == 1
