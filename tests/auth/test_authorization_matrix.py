"""Who gets what from every URL and both websockets (the SSO issue's authorization matrix).

The list of URL patterns is read from the URL configuration, recursively, the admin's
included, so a new URL without an entry in ``TABLE`` fails ``test_every_url_pattern_has_an_entry``
(and an entry whose pattern is gone fails ``test_every_entry_names_a_url_pattern``). Each entry
says, for GET and for POST, what each of six people gets:

- anonymous;
- signed in without rights (no decide permission);
- a reviewer outside the policy's groups (decide permission, but the approval's policy lets
  only its groups decide);
- a reviewer (decide permission, in the policy's group);
- the requester of the run (such a reviewer, whose email is the run's requester, under a
  policy that forbids approving one's own run);
- an admin (staff superuser, not in the policy's group: a policy naming groups binds
  superusers too, approvals.policies).

The design (docs/design.md, "Deciding"): every page, fragment, API call and websocket needs a
signed-in user; deciding needs the reviewer permission and the policy; only admins reach the
admin. Deciding here records the verdict and stops there: the test's transaction never
commits, so deliveries (run after commit) never reach Trigger.dev. Who is let in is the point.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import quote

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.http import HttpResponseBase
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone

from approvals.auth.demo import reviewers_group
from approvals.models import ApiToken, Approval, ApprovalPolicy, Verdict, Vote
from approvals.notify.models import Channel, ChannelKind, Event, Notification, Occurrence
from approvals.routing import websocket_urlpatterns
from approvals_site.asgi import application
from tests.factories import make_approval, make_decided_approval


class Role(Enum):
    ANONYMOUS = "anonymous"
    NO_RIGHTS = "signed in without rights"
    OUTSIDE_GROUP = "reviewer outside the policy's groups"
    REVIEWER = "reviewer"
    REQUESTER = "requester of the run"
    ADMIN = "admin"


SIGNED_IN = [role for role in Role if role is not Role.ANONYMOUS]


@dataclass(frozen=True)
class Answer:
    """What a request gets. ``to``: a redirect's Location, where ``{here}`` is the URL asked
    for (as ``next=`` quotes it) and ``{token}`` the approval's token id. ``decided``, for the
    URLs that decide: whether the person's verdict was recorded."""

    status: int
    to: str | None = None
    decided: bool | None = None

    def with_vote(self) -> Answer:
        return Answer(self.status, self.to, True)

    def without_vote(self) -> Answer:
        return Answer(self.status, self.to, False)

    def __str__(self) -> str:
        text = str(self.status)
        if self.to is not None:
            text += f" → {self.to}"
        if self.decided is not None:
            text += ", decided" if self.decided else ", nothing decided"
        return text


Answers = dict[Role, Answer]


def ok(status: int) -> Answer:
    return Answer(status)


OK = Answer(200)


def to(location: str, status: int = 302) -> Answer:
    return Answer(status, location)


def each(answer: Answer) -> Answers:
    return dict.fromkeys(Role, answer)


def signed_in(answer: Answer, *, anonymous: Answer, **overrides: Answer) -> Answers:
    """``answer`` for every signed-in role but those named (by lower-case role name)."""
    answers: Answers = {Role.ANONYMOUS: anonymous, **dict.fromkeys(SIGNED_IN, answer)}
    for name, other in overrides.items():
        answers[Role[name.upper()]] = other
    return answers


# The sign-in page, with the page asked for as next.
SIGN_IN = to("/accounts/login/?next={here}")
ADMIN_SIGN_IN = to("/admin/login/?next={here}")
API_401 = ok(401)
NOT_ALLOWED = ok(405)


def page(answer: Answer = OK) -> Answers:
    """A page for any signed-in user; anonymous visitors are sent to sign in."""
    return signed_in(answer, anonymous=SIGN_IN)


def admin_only(answer: Answer = OK, *, anonymous: Answer = ADMIN_SIGN_IN) -> Answers:
    """The admin's pages: everyone who is not an admin is sent to the admin's sign-in."""
    return {**dict.fromkeys(Role, ADMIN_SIGN_IN), Role.ANONYMOUS: anonymous, Role.ADMIN: answer}


def api(answer: Answer = OK) -> Answers:
    return signed_in(answer, anonymous=API_401)


def deciding(
    *, success: Answer, refused: Answer, anonymous: Answer, **overrides: Answer
) -> Answers:
    """Only the reviewer (and whoever ``overrides`` names) may decide this approval."""
    answers: Answers = {
        Role.ANONYMOUS: anonymous,
        **dict.fromkeys(SIGNED_IN, refused),
        Role.REVIEWER: success,
    }
    for name, other in overrides.items():
        answers[Role[name.upper()]] = other
    return answers


Body = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class Entry:
    get: Answers
    post: Answers
    # The URL to ask, for regular-expression routes; others are filled in from the route.
    sample: str | None = None
    # What to post (form fields, or JSON for the API), given the approval's token id.
    body: Body | None = None
    # A JSON API endpoint: asked with each person's session, and again with their API token.
    api: bool = False
    # The URL decides: each answer also says whether the verdict was recorded.
    decides: bool = False
    # Why anonymous visitors may use it (the exceptions to "sign in first").
    public: str = ""


def public(reason: str, *, get: Answer, post: Answer) -> Entry:
    return Entry(get=each(get), post=each(post), public=reason)


def admin_page(get: Answer = OK, post: Answer = OK, *, sample: str | None = None) -> Entry:
    return Entry(get=admin_only(get), post=admin_only(post), sample=sample)


def admin_model(
    model: str, *, add: Answer = OK, delete: Answer = OK, change_post: Answer = OK
) -> dict[str, Entry]:
    """The six URL patterns of one admin model, for an admin. An empty POST changes nothing:
    the add and change forms come back with their errors (a form without editable fields
    saves as it was, back to the list), the delete page asks again (Django deletes only on
    its confirmation field)."""
    base = f"admin/{model}/"
    one = f"{base}<path:object_id>/"
    return {
        base: admin_page(),
        f"{base}add/": admin_page(add, add),
        f"{one}history/": admin_page(),
        f"{one}delete/": admin_page(delete, delete),
        f"{one}change/": admin_page(post=change_post),
        one: admin_page(to("{here}change/"), to("{here}change/")),
    }


# The audit log and the read model: nobody adds, changes or deletes them, admins included
# (approvals.admin.ReadOnlyAdmin).
READ_ONLY = {"add": ok(403), "delete": ok(403), "change_post": ok(403)}


def sign_in_records(model: str) -> dict[str, Entry]:
    """django-axes' records: an admin may read and delete them, not add or edit them."""
    return admin_model(model, add=ok(403), change_post=to(f"/admin/{model}/"))


# The URL patterns that can never be reached: an earlier pattern with the same route answers.
# Keyed by URL name; the test checks that the earlier pattern really takes their URL.
SHADOWED = {
    "admin:login": "approvals_site.urls serves /admin/login/ itself (approvals.auth.sign_in_pages)",
    "admin:logout": "approvals_site.urls serves /admin/logout/ itself (signing out of SSO too)",
}


def _approve_form(token_id: str) -> dict[str, Any]:
    return {"approve-comment": "Looks fine"}


def _reject_form(token_id: str) -> dict[str, Any]:
    return {"reject-reason": "Not now"}


def _bulk_form(token_id: str) -> dict[str, Any]:
    # The confirmed post, the one that decides (the first only asks to confirm).
    return {
        "token_ids": [token_id],
        "verdict": "approve",
        "comment": "Looks fine",
        "confirmed": "on",
    }


def _approve_json(token_id: str) -> dict[str, Any]:
    return {"comments": "Looks fine"}


def _reject_json(token_id: str) -> dict[str, Any]:
    return {"reason": "Not now"}


TABLE: dict[str, Entry] = {
    # --- Signing in and out ---------------------------------------------------------------
    "accounts/login/": public(
        "the sign-in page; an empty POST is the form again with its errors",
        get=OK,
        post=OK,
    ),
    "accounts/logout/": public(
        "signing out is a POST (a GET could be forged by any page); it ends whatever session "
        "there is, none included",
        get=NOT_ALLOWED,
        post=to("/accounts/login/"),
    ),
    "accounts/signed-out/": public(
        "where signing out ends: it must not send the visitor straight back to sign in",
        get=OK,
        post=OK,
    ),
    "accounts/password_change/": Entry(get=page(), post=page()),
    "accounts/password_change/done/": Entry(
        get=page(), post=signed_in(NOT_ALLOWED, anonymous=SIGN_IN)
    ),
    # 404 until OIDC_ISSUER is set (the suite runs without SSO: password sign-in).
    "oidc/authenticate/": public(
        "starts signing in through the provider", get=ok(404), post=NOT_ALLOWED
    ),
    "oidc/callback/": public(
        "where the provider sends people back, signed in or not", get=ok(404), post=NOT_ALLOWED
    ),
    # Without SSO, Django's admin sign-in form: shown to anyone not yet an admin (it says a
    # signed-in non-admin is not authorised), while an admin goes on to the admin.
    "admin/login/": Entry(
        get={**each(OK), Role.ADMIN: to("/admin/")},
        post=each(OK),
        public="the admin's sign-in page",
    ),
    "admin/logout/": public(
        "the admin's Log out: the same sign-out as the dashboard's",
        get=NOT_ALLOWED,
        post=to("/accounts/login/"),
    ),
    # --- The admin: nobody but admins gets past the admin's sign-in ------------------------
    "admin/": admin_page(),
    "admin/password_change/": admin_page(),
    "admin/password_change/done/": admin_page(post=NOT_ALLOWED),
    # Asked without its parameters: refused even to an admin.
    "admin/autocomplete/": admin_page(ok(403), NOT_ALLOWED),
    "admin/jsi18n/": admin_page(post=NOT_ALLOWED),
    # Approvals have no page of their own on "the site" (no get_absolute_url).
    "admin/r/<path:content_type_id>/<path:object_id>/": admin_page(ok(404), ok(404)),
    "admin/(?P<app_label>auth|approvals|axes)/$": admin_page(sample="/admin/approvals/"),
    "admin/(?P<url>.*)$": admin_page(ok(404), ok(404), sample="/admin/no-such-page/"),
    **admin_model("auth/group"),
    **admin_model("auth/user"),
    "admin/auth/user/<id>/password/": admin_page(),
    **admin_model("approvals/decision", **READ_ONLY),
    **admin_model("approvals/vote", **READ_ONLY),
    **admin_model("approvals/approval", **READ_ONLY),
    **admin_model("approvals/approvalpolicy"),
    # A token's user, issuer and dates are read-only: its change form saves nothing but a name.
    **admin_model("approvals/apitoken", change_post=to("/admin/approvals/apitoken/")),
    # Notification channels are edited by admins; the outbox is read-only (only "Send again").
    **admin_model("approvals/channel"),
    **admin_model("approvals/notification", **READ_ONLY),
    **sign_in_records("axes/accessattempt"),
    **sign_in_records("axes/accesslog"),
    **sign_in_records("axes/accessfailurelog"),
    # --- The JSON API: reading needs a login (session or token); deciding, the policy -------
    "api/approvals": Entry(get=api(), post=each(NOT_ALLOWED), api=True),
    "api/openapi.json": Entry(get=api(), post=each(NOT_ALLOWED), api=True),
    "api/approvals/<str:token_id>/approve": Entry(
        get=each(NOT_ALLOWED),
        post=deciding(
            success=ok(200).with_vote(),
            refused=ok(403).without_vote(),
            anonymous=ok(401).without_vote(),
        ),
        body=_approve_json,
        api=True,
        decides=True,
    ),
    # The self-approval rule limits approving only: a requester may reject (withdraw) their
    # own request (approvals.policies.refusal_reason).
    "api/approvals/<str:token_id>/reject": Entry(
        get=each(NOT_ALLOWED),
        post=deciding(
            success=ok(200).with_vote(),
            refused=ok(403).without_vote(),
            anonymous=ok(401).without_vote(),
            requester=ok(200).with_vote(),
        ),
        body=_reject_json,
        api=True,
        decides=True,
    ),
    "api/.*$": Entry(
        get=each(ok(404)),
        post=each(ok(404)),
        sample="/api/no-such-endpoint",
        api=True,
        public="any other path under /api/: a JSON 404 that says nothing about what exists",
    ),
    # --- The dashboard's pages ----------------------------------------------------------------
    "": Entry(get=page(), post=each(NOT_ALLOWED)),
    "history/": Entry(get=page(), post=each(NOT_ALLOWED)),
    # Everyone chooses their own emails: a POST saves and comes back to the page.
    "settings/notifications/": Entry(get=page(), post=signed_in(to("{here}"), anonymous=SIGN_IN)),
    "approvals/<path:token_id>/": Entry(get=page(), post=each(NOT_ALLOWED)),
    # A GET of an action goes to its page (approvals.action_pages), for anyone: the page
    # then asks for a sign-in. A signed-out POST is sent to sign in, and back to the page.
    "approvals/<path:token_id>/approve": Entry(
        get=each(to("/approvals/{token}/")),
        post=deciding(
            success=to("/approvals/{token}/").with_vote(),
            refused=ok(403).without_vote(),
            anonymous=to("/accounts/login/?next=/approvals/{token}/").without_vote(),
        ),
        body=_approve_form,
        decides=True,
    ),
    "approvals/<path:token_id>/reject": Entry(
        get=each(to("/approvals/{token}/")),
        post=deciding(
            success=to("/approvals/{token}/").with_vote(),
            refused=ok(403).without_vote(),
            anonymous=to("/accounts/login/?next=/approvals/{token}/").without_vote(),
            requester=to("/approvals/{token}/").with_vote(),
        ),
        body=_reject_form,
        decides=True,
    ),
    # Bulk deciding answers with the queue again, each item that was refused saying why (a
    # 200: one refused item does not stop the others); nothing is decided for them.
    "bulk/": Entry(
        get=each(to("/")),
        post=deciding(
            success=to("/").with_vote(),
            refused=ok(200).without_vote(),
            anonymous=to("/accounts/login/?next=/").without_vote(),
        ),
        body=_bulk_form,
        decides=True,
    ),
    "healthz": public(
        'load balancers check it without credentials; it says only "ok"',
        get=OK,
        post=OK,
    ),
    "readyz": public(
        'load balancers check it without credentials; it says only "ready" or what is away',
        get=OK,
        post=OK,
    ),
}


# --- The people and the things they ask about ----------------------------------------------------

REQUESTER_EMAIL = "quinn@example.com"
POLICY_TASKS = "refund-*"


@dataclass
class World:
    users: dict[Role, User]
    tokens: dict[Role, str]
    # Path parameters of the admin's URLs: an object of each model, by "app/model".
    admin_ids: dict[str, str]
    content_type_id: str
    user_id: str


def _person(username: str, *, groups: tuple[Group, ...] = (), admin: bool = False) -> User:
    user = User.objects.create_user(
        username,
        REQUESTER_EMAIL if username == "quinn" else f"{username}@example.com",
        is_staff=admin,
        is_superuser=admin,
    )
    user.groups.add(*groups)
    return user


def build_world() -> World:
    """Six people, a policy that lets only the Payments group decide refunds (and nobody
    approve their own), and one object of each model the admin shows."""
    reviewers = reviewers_group()
    payments = Group.objects.create(name="Payments")  # no permission of its own
    policy = ApprovalPolicy.objects.create(
        name="Payments only",
        task_pattern=POLICY_TASKS,
        restrict_to_groups=True,
        allow_self_approval=False,
    )
    policy.approver_groups.add(payments)
    users = {
        Role.NO_RIGHTS: _person("nora"),
        Role.OUTSIDE_GROUP: _person("oscar", groups=(reviewers,)),
        Role.REVIEWER: _person("rita", groups=(reviewers, payments)),
        Role.REQUESTER: _person("quinn", groups=(reviewers, payments)),
        Role.ADMIN: _person("ada", admin=True),
    }
    tokens = {role: ApiToken.issue(user=user, name=role.value)[1] for role, user in users.items()}
    decided = make_decided_approval(users[Role.REVIEWER], Verdict.APPROVE, "Fine")
    vote = Vote.objects.create(
        approval=decided, actor=users[Role.REVIEWER], verdict=Verdict.APPROVE, comment="Fine"
    )
    attempt = AccessAttempt.objects.create(
        username="someone", ip_address="127.0.0.1", failures_since_start=1
    )
    log = AccessLog.objects.create(username="someone", ip_address="127.0.0.1")
    failure = AccessFailureLog.objects.create(username="someone", ip_address="127.0.0.1")
    objects: dict[str, Any] = {
        "auth/group": payments,
        "auth/user": users[Role.NO_RIGHTS],
        "approvals/decision": decided.decision,
        "approvals/vote": vote,
        "approvals/approval": decided,
        "approvals/approvalpolicy": policy,
        "approvals/apitoken": ApiToken.objects.filter(user=users[Role.NO_RIGHTS]).get(),
        "approvals/channel": Channel.objects.create(
            name="hook", kind=ChannelKind.WEBHOOK, target="https://hooks.example.com/x", secret="k"
        ),
        "approvals/notification": Notification.objects.create(
            occurrence=Occurrence.objects.create(approval=decided, event=Event.DECIDED),
            event=Event.DECIDED,
            recipient_key="user:0",
            kind=ChannelKind.EMAIL,
            address="someone@example.com",
            body="text",
        ),
        "axes/accessattempt": attempt,
        "axes/accesslog": log,
        "axes/accessfailurelog": failure,
    }
    return World(
        users=users,
        tokens=tokens,
        admin_ids={key: str(obj.pk) for key, obj in objects.items()},
        content_type_id=str(ContentType.objects.get_for_model(Approval).pk),
        user_id=str(users[Role.NO_RIGHTS].pk),
    )


def fresh_approval() -> Approval:
    """A pending refund the requester asked for, under the Payments-only policy."""
    return make_approval(
        task_identifier="refund-customer",
        requested_by=REQUESTER_EMAIL,
        created_at=timezone.now(),
    )


# --- The URL configuration -------------------------------------------------------------------


def _join(prefix: str, route: str) -> str:
    # As Django's resolver joins routes into ResolverMatch.route: a nested regex loses its "^".
    return prefix + (route[1:] if route.startswith("^") else route)


def _walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[tuple[str, str, str]]:
    for pattern in patterns:
        route = _join(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}{pattern.namespace}:"
            yield from _walk(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else ""
            yield route, name, pattern.lookup_str


def url_patterns() -> list[tuple[str, str, str]]:
    """Every URL pattern: its route (as ``ResolverMatch.route`` gives it), name and view."""
    return list(_walk(get_resolver().url_patterns, "", ""))


_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def sample_url(route: str, entry: Entry | None, world: World, approval: Approval) -> str:
    """A URL of the pattern ``route``, about ``approval`` or an object the admin shows."""
    if entry is not None and entry.sample is not None:
        return entry.sample
    model = re.match(r"admin/(\w+/\w+)/<", route)
    values = {
        "token_id": approval.token_id,
        "object_id": world.admin_ids[model.group(1)] if model else str(approval.pk),
        "content_type_id": world.content_type_id,
        "id": world.user_id,
    }
    return "/" + _PARAMETER.sub(lambda found: values[found.group(1)], route)


# --- Asking --------------------------------------------------------------------------------------


def ask(
    world: World, role: Role, method: str, url: str, entry: Entry | None, *, token: str, via: str
) -> HttpResponseBase:
    client = Client()
    user = world.users.get(role)
    headers: dict[str, str] = {}
    if user is not None and via == "token":
        headers["Authorization"] = f"Bearer {world.tokens[role]}"
    elif user is not None:
        client.force_login(user)
    if method == "GET":
        return client.get(url, headers=headers)
    body = entry.body(token) if entry is not None and entry.body is not None else {}
    if entry is not None and entry.api:
        return client.post(
            url, data=json.dumps(body), content_type="application/json", headers=headers
        )
    return client.post(url, data=body, headers=headers)


def observed(
    response: HttpResponseBase, url: str, approval: Approval, user: User | None, *, decides: bool
) -> Answer:
    """``response`` as the table says it: the URL asked for and the token in a redirect's
    Location as ``{here}`` and ``{token}``, and for deciding URLs whether a vote was cast."""
    location = response.get("Location")
    if location is not None:
        location = location.replace(f"next={quote(url, safe='/')}", "next={here}")
        if "{here}" not in location and url != "/" and location.startswith(url):
            location = "{here}" + location[len(url) :]
        location = location.replace(approval.token_id, "{token}")
    decided = None
    if decides:
        votes = Vote.objects.filter(approval=approval)
        decided = (votes.filter(actor=user) if user is not None else votes).exists()
    return Answer(response.status_code, location, decided)


# --- The table covers the URL configuration, and nothing else ------------------------------


def test_every_url_pattern_has_an_entry() -> None:
    missing = [
        f"{route!r} (name {name or 'none'}, view {view})"
        for route, name, view in url_patterns()
        if route not in TABLE and name not in SHADOWED
    ]
    assert not missing, (
        "These URL patterns need an entry in TABLE (tests/auth/test_authorization_matrix.py), "
        "saying what each person gets from them:\n  " + "\n  ".join(missing)
    )


def test_every_entry_names_a_url_pattern() -> None:
    routes = {route for route, _, _ in url_patterns()}
    names = {name for _, name, _ in url_patterns()}
    stale = sorted(set(TABLE) - routes) + sorted(set(SHADOWED) - names)
    assert not stale, f"These entries name URL patterns that no longer exist: {stale}"


def test_no_two_patterns_share_a_route_unless_one_is_shadowed() -> None:
    routes = [route for route, name, _ in url_patterns() if name not in SHADOWED]
    assert len(routes) == len(set(routes))


@pytest.mark.parametrize("name", SHADOWED)
def test_a_shadowed_pattern_is_answered_by_an_earlier_one(name: str) -> None:
    route, _, view = next(found for found in url_patterns() if found[1] == name)
    match = resolve("/" + route)
    assert match.view_name != name
    assert match.route == route  # the same URL, taken by another view
    assert f"{match.func.__module__}.{match.func.__name__}" != view


# What anonymous visitors may get from a URL that is not public: sent to sign in, refused, or
# sent to a page (an action's page) that sends them to sign in.
SIGNED_OUT_ANSWERS = {
    "/accounts/login/?next={here}",
    "/admin/login/?next={here}",
    "/accounts/login/?next=/approvals/{token}/",
    "/accounts/login/?next=/",
    "/approvals/{token}/",
    "/",
}


def test_only_the_listed_exceptions_answer_anonymous_visitors() -> None:
    open_to_anyone = [
        f"{method} /{route}: {answers[Role.ANONYMOUS]}"
        for route, entry in TABLE.items()
        if not entry.public
        for method, answers in (("GET", entry.get), ("POST", entry.post))
        if answers[Role.ANONYMOUS].status not in (401, 405)
        and answers[Role.ANONYMOUS].to not in SIGNED_OUT_ANSWERS
    ]
    assert not open_to_anyone, "Give these a public= reason, or a sign-in: " + str(open_to_anyone)


# Served outside the URL configuration, to anyone: WhiteNoise answers before Django's URLs.
NOT_IN_URLCONF = {
    "/static/css/app.css": "the site's own CSS, JavaScript and images (WhiteNoise): no secrets",
}


@pytest.mark.parametrize("path", NOT_IN_URLCONF)
def test_static_files_need_no_sign_in(client: Client, path: str) -> None:
    assert client.get(path).status_code == 200


# --- Every URL, method and person ------------------------------------------------------------

CASES = [
    pytest.param(route, method, via, id=f"{method} /{route} ({via})")
    for route, entry in TABLE.items()
    for method in ("GET", "POST")
    for via in (("session", "token") if entry.api else ("session",))
]


@pytest.mark.parametrize(("route", "method", "via"), CASES)
def test_each_person_gets_the_answer_in_the_table(
    db: None, route: str, method: str, via: str
) -> None:
    entry = TABLE[route]
    expected = entry.get if method == "GET" else entry.post
    world = build_world()
    wrong = []
    for role in Role:
        approval = fresh_approval()  # each person decides on their own
        url = sample_url(route, entry, world, approval)
        assert resolve(url).route == route, f"{url} is not a URL of {route!r}"
        response = ask(world, role, method, url, entry, token=approval.token_id, via=via)
        got = observed(
            response,
            url,
            approval,
            world.users.get(role),
            decides=entry.decides and method == "POST",
        )
        if got != expected[role]:
            wrong.append(f"{role.value}: expected {expected[role]}, got {got}")
    assert not wrong, f"{method} {url} ({via}):\n  " + "\n  ".join(wrong)


# --- Fragments: htmx asks for parts of the same pages -------------------------------------------

FRAGMENTS = ["", "history/", "approvals/<path:token_id>/"]


@pytest.mark.parametrize("route", FRAGMENTS)
def test_fragments_need_a_signed_in_user(db: None, route: str) -> None:
    world = build_world()
    approval = fresh_approval()
    url = sample_url(route, TABLE[route], world, approval)
    for role in Role:
        client = Client(headers={"HX-Request": "true"})
        user = world.users.get(role)
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, role
        if user is None:
            # htmx navigates the whole window to sign in (approvals.auth.htmx_login).
            assert response["HX-Redirect"] == f"/accounts/login/?next={quote(url, safe='/')}"
            assert response.content == b""
        else:
            assert "HX-Redirect" not in response
            assert b"<html" not in response.content, role


# --- The websockets ------------------------------------------------------------------------

# The origin check reads ALLOWED_HOSTS when the ASGI router is built, before the test settings
# add "testserver" (as in tests/live/test_consumers.py): a page served from 127.0.0.1.
ORIGIN = (b"origin", b"http://127.0.0.1:8000")
# Each websocket route (approvals.routing), and a URL of it.
SOCKETS = {
    "ws/approvals/": "/ws/approvals/",
    "ws/approvals/<path:token_id>/": "/ws/approvals/{token}/",
}


def test_every_websocket_route_is_in_the_matrix() -> None:
    routes = {str(pattern.pattern) for pattern in websocket_urlpatterns}
    assert routes == set(SOCKETS), "Add the new websocket routes to SOCKETS"


def _session_cookie(user: User) -> bytes:
    client = Client()
    client.force_login(user)
    return "; ".join(f"{k}={v.value}" for k, v in client.cookies.items()).encode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", SOCKETS.values())
@pytest.mark.parametrize("role", list(Role), ids=[role.name.lower() for role in Role])
async def test_websockets_are_for_signed_in_users(path: str, role: Role) -> None:
    """Reading is open to anyone signed in (live updates show what the pages show); only
    anonymous sockets are refused, before the handshake is accepted."""
    world = await database_sync_to_async(build_world)()
    approval = await database_sync_to_async(fresh_approval)()
    headers = [ORIGIN]
    user = world.users.get(role)
    if user is not None:
        headers.append((b"cookie", await database_sync_to_async(_session_cookie)(user)))
    socket = WebsocketCommunicator(application, path.format(token=approval.token_id), headers)
    try:
        connected, _ = await socket.connect(timeout=5)
        assert connected is (role is not Role.ANONYMOUS)
    finally:
        await socket.disconnect()
