"""Accounts from single sign-on: created or updated at each sign-in from what the provider
(OIDC claims, or the trusted proxy's headers) says, with the provider's groups mapped onto
Django's (docs/sso.md, "Accounts and groups").

- The reviewer groups (settings.OIDC_REVIEWER_GROUPS) put the user in the group holding the
  decide permission; the admin groups (settings.OIDC_ADMIN_GROUPS) make them staff and
  superuser, which is what reaching the Django admin takes.
- Every other provider group is mirrored onto the Django group of the same name when an admin
  has made one (a policy's approver groups); the provider's other groups are not copied in.
- The provider is the source of membership: a group it no longer lists is removed here at the
  next sign-in, and so are groups an admin added by hand (change them at the provider).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from approvals.auth.demo import REVIEWERS_GROUP, demo_usernames, reviewers_group
from approvals.models import SsoIdentity

# Django's username column; longer names from a provider are refused rather than cut short
# (two people must never collapse into one account).
USERNAME_MAX = 150


class SignInRefused(Exception):
    """The provider vouched for someone this dashboard will not sign in; ``message`` says why,
    in words for the person signing in."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Identity:
    """A person as a single sign-on source describes them."""

    source: str  # the OIDC issuer, or "proxy"
    subject: str  # OIDC's ``sub``, or the proxy's user header
    username: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    groups: frozenset[str] = field(default_factory=frozenset)


def groups_from_claim(value: Any) -> frozenset[str]:
    """A groups claim or header as a set of names: a list of strings, or one string of
    comma-separated names (what proxies send). Anything else counts as no groups."""
    if isinstance(value, str):
        items: Iterable[Any] = value.split(",")
    elif isinstance(value, list | tuple):
        items = value
    else:
        return frozenset()
    return frozenset(item.strip() for item in items if isinstance(item, str) and item.strip())


def _check_username(identity: Identity) -> None:
    name = identity.username
    if not name or len(name) > USERNAME_MAX or any(ch.isspace() or ord(ch) < 32 for ch in name):
        raise SignInRefused(
            "Your sign-in provider did not give a usable user name "
            f"(at most {USERNAME_MAX} characters, no spaces)."
        )
    if name in settings.SSO_BREAK_GLASS_USERS:
        raise SignInRefused(
            f"“{name}” is a break-glass account here: it signs in with its password only."
        )
    if settings.TRIGGER_USES_SANDBOX is False and name in demo_usernames():
        raise SignInRefused(f"“{name}” is reserved for the demo reviewers.")


def _find_user(identity: Identity) -> Any:
    """The account for this identity: linked before, or the unlinked account of that name."""
    User = get_user_model()
    link = (
        SsoIdentity.objects.select_related("user")
        .filter(source=identity.source, subject=identity.subject)
        .first()
    )
    if link is not None:
        SsoIdentity.objects.filter(pk=link.pk).update(last_seen_at=timezone.now())
        return link.user
    user = User.objects.filter(username=identity.username).first()
    if user is not None and user.sso_identities.exists():
        raise SignInRefused(
            f"The user name “{identity.username}” belongs to someone else here. "
            "Ask an admin to rename or remove the older account."
        )
    if user is None:
        user = User(username=identity.username)
        user.set_unusable_password()
        user.save()
    SsoIdentity.objects.create(user=user, source=identity.source, subject=identity.subject)
    return user


def _mapped_groups(identity: Identity) -> list[Group]:
    mirrored = list(Group.objects.filter(name__in=identity.groups).exclude(name=REVIEWERS_GROUP))
    if identity.groups & set(settings.OIDC_REVIEWER_GROUPS):
        mirrored.append(reviewers_group())
    return mirrored


@transaction.atomic
def account_for(identity: Identity) -> Any:
    """The active account for ``identity``, created or brought up to date; or
    ``SignInRefused``."""
    _check_username(identity)
    user = _find_user(identity)
    if not user.is_active:
        raise SignInRefused("Your account here has been deactivated by an admin.")
    admin = bool(identity.groups & set(settings.OIDC_ADMIN_GROUPS))
    user.username = identity.username
    user.email = identity.email[:254]
    user.first_name = identity.first_name[:150]
    user.last_name = identity.last_name[:150]
    user.is_staff = admin
    user.is_superuser = admin
    user.save()
    user.groups.set(_mapped_groups(identity))
    return user


class SsoBackend(ModelBackend):
    """Keeps SSO sessions: users signed in by ``login(..., backend=SSO_BACKEND)`` are read back
    through it. It authenticates nobody itself (the OIDC callback and the proxy middleware
    vouch for the user first)."""

    def authenticate(
        self,
        request: Any,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        return None


SSO_BACKEND = f"{SsoBackend.__module__}.{SsoBackend.__qualname__}"
