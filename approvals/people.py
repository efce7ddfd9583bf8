"""One name per person on every page.

A reviewer appears as the top bar's user, as a voter, as the one who decided, as a viewer
("Also viewing"), and often as a run's requester (``requestedBy``, an address a task wrote).
All of them show the same name: the username, the one name every account has (SSO maps the
provider's username onto it), and the one votes and decisions record as they were made (the
audit log keeps the name of the time: docs/hardening.md). A requester whose text names an
account (by email or username, compared as the self-approval rule compares them:
approvals.addresses) is shown by that account's name, with the text as written in a tooltip.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.db.models.functions import Lower

from approvals import addresses


def display_name(user: Any) -> str:
    """The one name shown for ``user``."""
    if user is None:
        return ""
    return str(user.get_username())


def actor_name(record: Any) -> str:
    """Who cast a vote or made a decision, as they were named then."""
    return str(record.actor_name)


def requester_accounts(texts: Iterable[str]) -> dict[str, Any]:
    """For each ``requestedBy`` text that names exactly one active account, that account;
    texts naming nobody we know (or several people) are left out."""
    named = {text: addresses.named(text) for text in set(texts) if text}
    wanted = set().union(*named.values()) if named else set()
    if not wanted:
        return {}
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .annotate(email_key=Lower("email"), username_key=Lower("username"))
        .filter(Q(email_key__in=wanted) | Q(username_key__in=wanted))
    )
    by_key: dict[str, list[Any]] = {}
    for user in users:
        for key in {addresses.clean(user.email or ""), addresses.clean(user.get_username())}:
            if key:
                by_key.setdefault(key, []).append(user)
    accounts: dict[str, Any] = {}
    for text, keys in named.items():
        matches = {user.pk: user for key in keys for user in by_key.get(key, [])}
        if len(matches) == 1:
            accounts[text] = next(iter(matches.values()))
    return accounts


def requester_names(texts: Iterable[str]) -> dict[str, str]:
    """For each ``requestedBy`` text that names exactly one active account, that account's
    name; texts naming nobody we know are left out (shown as written)."""
    return {text: display_name(user) for text, user in requester_accounts(texts).items()}
