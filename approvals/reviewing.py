"""One reviewer's standing on approvals: may they decide it, have they voted, did they ask for it.

The queue's per-row signals ("you voted · 1 of 2", "your request"), its views ("Needs my
decision", "Requested by me", "All") and the detail page's "Next pending" read this. Policies
and the reviewer's groups are read once per ``Reviewer`` (one per request or live render), so
asking about a page of rows, or about every pending approval, costs a few queries whatever
the count. Deciding never relies on it: ``approvals.decisions.decide`` checks again under the
row lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet

from approvals import addresses
from approvals.models import Approval, ApprovalPolicy, Verdict, Vote
from approvals.policies import DECIDE_PERMISSION, PolicyBook, Rules, policy_refusal, tags_of
from approvals.queries import ORDER_NEWEST

# The queue's views of the pending approvals (the ``show`` parameter).
SHOW_MINE = "mine"
SHOW_REQUESTED = "requested"
SHOW_ALL = "all"
SHOW_CHOICES = [
    (SHOW_MINE, "Needs my decision"),
    (SHOW_REQUESTED, "Requested by me"),
    (SHOW_ALL, "All"),
]


@dataclass(frozen=True)
class Standing:
    """Where one reviewer stands on one approval."""

    may_decide: bool  # the permission and the policy's groups let them decide it
    is_requester: bool
    may_approve_own: bool  # the policy lets a requester approve their own run
    my_vote: str  # "approve", "reject" or "" (not voted)
    approve_votes: int
    approvals_required: int
    comment_required: bool = False

    @property
    def blocked_as_requester(self) -> bool:
        return self.is_requester and not self.may_approve_own

    @property
    def needs_me(self) -> bool:
        """Waiting for this reviewer: they may approve it and have not voted yet."""
        return self.may_decide and not self.my_vote and not self.blocked_as_requester

    @property
    def may_pick(self) -> bool:
        """Whether the queue offers it a checkbox: some verdict is still theirs to give (a
        requester may always reject, that is withdraw, their own request)."""
        return self.may_decide and not self.my_vote


class Reviewer:
    """A user's rights, read once: their permission, groups, and every policy."""

    def __init__(self, user: Any, *, personal: bool = True) -> None:
        """``personal=False``: only the user's rights count, not who they are (no votes of
        theirs, no requests): for renders shared by everyone with the same rights."""
        self.user = user
        self.signed_in = bool(user.is_authenticated and user.is_active)
        self.may_decide_at_all = self.signed_in and user.has_perm(DECIDE_PERMISSION)
        self.group_ids: set[int] = (
            set(user.groups.values_list("pk", flat=True)) if self.signed_in else set()
        )
        self.personal = personal
        self.identities = (
            [user.email or "", user.get_username() or ""] if self.signed_in and personal else []
        )
        self.book = PolicyBook()
        self._allowed: dict[int | None, bool] = {}

    def _may_decide_under(self, policy: ApprovalPolicy | None) -> bool:
        # Once per policy: the live queue asks for every socket at every event.
        key = policy.pk if policy is not None else None
        if key not in self._allowed:
            refusal = policy_refusal(user=self.user, policy=policy, group_ids=self.group_ids)
            self._allowed[key] = refusal is None
        return self._allowed[key]

    @property
    def rights(self) -> tuple[Any, ...]:
        """What decides which approvals this reviewer may decide: equal for two reviewers
        means the same rights (live pushes share their renders)."""
        return (self.may_decide_at_all, bool(self.user.is_superuser), frozenset(self.group_ids))

    def standing_of(self, approval: Approval, votes: Iterable[tuple[int, str]]) -> Standing:
        """The standing on one approval from its votes, ``(actor id, verdict)``; no query."""
        votes = list(votes)
        return self._standing(
            task_identifier=approval.task_identifier,
            tags=tags_of(approval),
            requested_by=approval.requested_by,
            my_vote=next((verdict for actor, verdict in votes if actor == self.user.pk), ""),
            approve_votes=sum(1 for _, verdict in votes if verdict == Verdict.APPROVE),
        )

    def _standing(
        self,
        *,
        task_identifier: str,
        tags: list[Any],
        requested_by: str,
        my_vote: str,
        approve_votes: int,
    ) -> Standing:
        policy = self.book.policy_for(task_identifier=task_identifier, tags=tags)
        rules = Rules.of(policy)
        may_decide = self.may_decide_at_all and self._may_decide_under(policy)
        return Standing(
            may_decide=may_decide,
            is_requester=bool(self.identities)
            and addresses.same_person(requested_by, self.identities),
            may_approve_own=rules.allow_self_approval,
            my_vote=my_vote,
            approve_votes=approve_votes,
            approvals_required=rules.approvals_required,
            comment_required=rules.require_comment,
        )

    def standings(self, approvals: Iterable[Approval]) -> dict[int, Standing]:
        """Each approval's standing by primary key, for a page of rows (two queries)."""
        rows = list(approvals)
        votes = Vote.objects.filter(approval_id__in=[row.pk for row in rows]).values_list(
            "approval_id", "verdict", "actor_id"
        )
        approve_votes: dict[int, int] = {}
        mine: dict[int, str] = {}
        for approval_id, verdict, actor_id in votes:
            if verdict == Verdict.APPROVE:
                approve_votes[approval_id] = approve_votes.get(approval_id, 0) + 1
            if self.personal and actor_id == self.user.pk:
                mine[approval_id] = verdict
        return {
            row.pk: self._standing(
                task_identifier=row.task_identifier,
                tags=tags_of(row),
                requested_by=row.requested_by,
                my_vote=mine.get(row.pk, ""),
                approve_votes=approve_votes.get(row.pk, 0),
            )
            for row in rows
        }

    def narrow(
        self, approvals: QuerySet[Approval], show: str, *, personal: bool = True
    ) -> QuerySet[Approval]:
        """``approvals`` limited to the ones that need this reviewer (``SHOW_MINE``) or that
        they asked for (``SHOW_REQUESTED``); all of them otherwise. Without ``personal``,
        "need this reviewer" means only "their rights let them decide it" (their own votes
        and requests are left in: the live queue shares that among reviewers with the same
        rights and takes each one's ``excluded`` rows out itself).

        Requesters match by normalised address (approvals.addresses), which SQL cannot say
        on both databases: the few distinct ``requestedBy`` texts are judged here. Policies
        match by glob and tag, which SQL cannot say either; but a row's policy matters only
        through the reviewer's rights under it, so when every policy gives them the same
        rights the view is one query, and only otherwise are the candidate rows' light
        columns read and judged one by one."""
        if show not in (SHOW_MINE, SHOW_REQUESTED):
            return approvals
        if show == SHOW_MINE and not self.may_decide_at_all:
            return approvals.none()
        mine = self._own_request_texts(approvals)
        if show == SHOW_REQUESTED:
            return approvals.filter(requested_by__in=mine)
        # The standing of a row depends on its policy only through two rights: may decide,
        # may approve one's own request. When every policy (and none) gives this reviewer the
        # same rights, which policy a row falls under does not matter, and the view is said
        # in SQL: a page then costs the same with 10,000 pending approvals as with 100.
        rights = {
            (self._may_decide_under(p), Rules.of(p).allow_self_approval)
            for p in [None, *self.book.policies]
        }
        if len(rights) == 1:
            may_decide, may_approve_own = rights.pop()
            if not may_decide:
                return approvals.none()
            if personal:
                approvals = approvals.exclude(pk__in=self._voted_ids())
                if not may_approve_own:
                    approvals = approvals.exclude(requested_by__in=mine)
            return approvals
        return self._narrow_row_by_row(approvals, personal=personal)

    def _own_request_texts(self, approvals: QuerySet[Approval]) -> list[str]:
        """The ``requestedBy`` texts among ``approvals`` that name this reviewer: the few
        distinct texts are judged here (addresses.same_person), not every row."""
        if not self.identities:
            return []
        texts = approvals.order_by().values_list("requested_by", flat=True).distinct()
        return [text for text in texts if addresses.same_person(text, self.identities)]

    def _voted_ids(self) -> QuerySet[Vote, int]:
        # A subquery, not a list: it stays in the database however many votes there are.
        return Vote.objects.filter(actor_id=self.user.pk).values_list("approval_id", flat=True)

    def _narrow_row_by_row(
        self, approvals: QuerySet[Approval], *, personal: bool
    ) -> QuerySet[Approval]:
        """Policies that give this reviewer different rights: each candidate row is judged
        (its light columns read), then the rows are selected by key in the query's order."""
        voted = self._voted(approvals) if personal else set()
        keep: list[int] = []
        light = approvals.values_list(
            "pk", "task_identifier", "run_tags", "token_tags", "requested_by"
        )
        for pk, task, run_tags, token_tags, requested_by in light:
            standing = self._standing(
                task_identifier=task,
                tags=[*(run_tags or []), *(token_tags or [])],
                requested_by=requested_by,
                my_vote="voted" if pk in voted else "",
                approve_votes=0,
            )
            wanted = standing.needs_me if personal else standing.may_decide
            if wanted:
                keep.append(pk)
        return approvals.filter(pk__in=keep)

    def _voted(self, approvals: QuerySet[Approval]) -> set[int]:
        return set(
            Vote.objects.filter(actor_id=self.user.pk, approval__in=approvals).values_list(
                "approval_id", flat=True
            )
        )

    def excluded(self, approvals: QuerySet[Approval]) -> set[int]:
        """The rows of ``approvals`` this reviewer's rights allow but that do not need them:
        voted on already, or their own request they may not approve."""
        voted = self._voted(approvals)
        own = {
            pk
            for pk, task, run_tags, token_tags, requested_by in approvals.values_list(
                "pk", "task_identifier", "run_tags", "token_tags", "requested_by"
            )
            if self._standing(
                task_identifier=task,
                tags=[*(run_tags or []), *(token_tags or [])],
                requested_by=requested_by,
                my_vote="",
                approve_votes=0,
            ).blocked_as_requester
        }
        return voted | own


def next_pending(approvals: QuerySet[Approval], *, after: Approval, order: str) -> Approval | None:
    """The approval that follows ``after`` in the queue's order among ``approvals`` (the
    reviewer's filtered queue), wrapping round to the first; ``None`` when none is left.
    ``after`` itself may have left the queue (just decided): its place is found by its sort
    key, not by looking it up in the queue. Two queries at most, whatever the queue's
    length: the detail page asks at every render, live pushes included."""
    others = approvals.exclude(pk=after.pk)
    later_same_time = Q(created_at__lt=after.created_at) | Q(
        created_at=after.created_at, pk__gt=after.pk
    )
    if order == ORDER_NEWEST:
        ordered = others.order_by("-created_at", "pk")
        following = ordered.filter(later_same_time)
    else:
        ordered = others.order_by(F("expires_at").asc(nulls_last=True), "-created_at", "pk")
        if after.expires_at is None:
            following = ordered.filter(Q(expires_at__isnull=True) & later_same_time)
        else:
            following = ordered.filter(
                Q(expires_at__gt=after.expires_at)
                | Q(expires_at__isnull=True)
                | (Q(expires_at=after.expires_at) & later_same_time)
            )
    return following.first() or ordered.first()
