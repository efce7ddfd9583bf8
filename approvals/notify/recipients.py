"""Who hears of an occurrence (docs/notifications.md, "Who hears what").

People are told by email; channels (webhooks, Slack, shared mailboxes) by their own kind.
Deciders are worked out the way deciding itself checks them (approvals.policies): the decide
permission, the policy's groups when it names some, and not the requester when the policy
forbids approving one's own run. Only active accounts with an address are mailed, and each
person's own choices (``Preferences``) are honoured, except for escalations to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q

from approvals.models import Approval, ApprovalPolicy, Decision
from approvals.notify.models import Channel, Event, Preferences
from approvals.people import requester_accounts
from approvals.policies import PolicyBook, is_requester


def _mailable() -> Any:
    return get_user_model().objects.filter(is_active=True).exclude(email="")


def may_decide_under(policy: ApprovalPolicy | None) -> list[Any]:
    """Active users with an address who may decide under ``policy`` (requesters included:
    ``Audience.deciders`` leaves out the one who asked, where the policy says so)."""
    permission = Permission.objects.filter(
        codename="decide_approval", content_type__app_label="approvals"
    ).first()
    allowed = Q(is_superuser=True)
    if permission is not None:
        allowed |= Q(user_permissions=permission) | Q(groups__permissions=permission)
    users = _mailable().filter(allowed)
    if policy is not None and policy.restrict_to_groups:
        # Superusers too, as deciding checks it: a policy naming groups is the list.
        users = users.filter(groups__in=list(policy.approver_groups.all()))
    return list(users.distinct())


def escalation_group_members(policy: ApprovalPolicy | None) -> list[Any]:
    if policy is None or policy.escalation_group_id is None:
        return []
    return list(_mailable().filter(groups=policy.escalation_group_id).distinct())


def requester(approval: Approval, *, not_: Any = None) -> list[Any]:
    """The account that asked for the run, when its text names exactly one (not ``not_``:
    whoever decided their own request needs no email about it)."""
    user = requester_accounts([approval.requested_by]).get(approval.requested_by)
    if user is None or not user.email or (not_ is not None and user.pk == not_):
        return []
    return [user]


def admins() -> list[Any]:
    return list(_mailable().filter(is_superuser=True))


class Audience:
    """Who hears what, read once for a batch of occurrences: the policies, each policy's
    deciders, everyone's choices and the channels cost a few queries per batch, not per
    approval (the first sync of a long queue fans out thousands at once)."""

    def __init__(self) -> None:
        self.book = PolicyBook()
        self._deciders: dict[int | None, list[Any]] = {}
        self._choices = {choice.user_id: choice for choice in Preferences.objects.all()}
        self._channels = list(Channel.objects.filter(active=True).prefetch_related("policies"))

    def policy_of(self, approval: Approval) -> ApprovalPolicy | None:
        return self.book.policy_of(approval)

    def people(self, event: str, approval: Approval, policy: ApprovalPolicy | None) -> list[Any]:
        """Whom to email about ``event``, choices honoured; empty when email is off."""
        if not settings.NOTIFY_EMAIL:
            return []
        if event == Event.ESCALATED:
            return _unique(escalation_group_members(policy))  # whatever they chose
        if event in (Event.PENDING, Event.REMINDER):
            found = self.deciders(approval, policy)
        elif event == Event.DECIDED:
            decision = Decision.objects.filter(approval=approval).only("actor_id").first()
            found = requester(approval, not_=decision.actor_id if decision else None)
        elif event == Event.EXPIRED:
            found = requester(approval)
        elif event == Event.DELIVERY_FAILED:
            found = admins()
        else:
            found = []
        return [user for user in _unique(found) if self._wants(user, event)]

    def deciders(self, approval: Approval, policy: ApprovalPolicy | None) -> list[Any]:
        key = policy.pk if policy is not None else None
        if key not in self._deciders:
            self._deciders[key] = may_decide_under(policy)
        users = self._deciders[key]
        if policy is None or not policy.allow_self_approval:
            return [user for user in users if not is_requester(user=user, approval=approval)]
        return users

    def _wants(self, user: Any, event: str) -> bool:
        choice = self._choices.get(user.pk)
        return choice is None or choice.wants(event)

    def channels(
        self, event: str, approval: Approval, policy: ApprovalPolicy | None
    ) -> list[Channel]:
        """The active channels that take ``event`` for this approval's task and policy."""
        found = []
        for channel in self._channels:
            if not channel.hears(event) or not channel.covers_task(approval.task_identifier):
                continue
            chosen = {p.pk for p in channel.policies.all()}
            if chosen and (policy is None or policy.pk not in chosen):
                continue
            found.append(channel)
        return found


def _unique(users: Iterable[Any]) -> list[Any]:
    """One email per address: two accounts sharing an address get one message."""
    seen: set[str] = set()
    kept = []
    for user in users:
        address = user.email.strip().lower()
        if address and address not in seen:
            seen.add(address)
            kept.append(user)
    return kept
