"""A number that moves whenever anything a queue page shows may have changed.

The web processes keep rendered queue pages (approvals.presentation.queue_cache) and key
them on this number, so that a page is served again only while nothing it shows has changed
(docs/design.md, "The queue page's cache"). It has two parts:

* the **shared** part, one database row (``ChangeCounter``), moved after every commit that
  changed something, in whichever process made the change: the sync worker, another web
  worker, the admin. Moving it *after* the commit matters: a process that reads the number
  and then the rows can only ever store newer rows under an older number, never older rows
  under a newer one.
* the **local** part, a counter in this process, moved at once when the change is made,
  before its commit. It covers what this process does inside a transaction it has not
  committed yet (a test's transaction, a view that decides and then renders).

What moves it: every approval event (``approvals.events.approval_changed`` calls
``noted``), and saving or deleting (``connect``) approvals, votes, decisions and viewers (what
events announce, again: a save that forgot its event is still seen), and the things the
queue's signals are computed from: users (names, rights), groups and their members and
permissions, and approval policies. A write that bypasses both (a raw ``UPDATE`` in a
shell) is seen when a kept page's time bound passes, a minute later at the latest.
"""

from __future__ import annotations

import itertools
import logging
import threading
from functools import partial
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

logger = logging.getLogger(__name__)

_ROW = 1
_local_counter = itertools.count(1)
_local = 0  # the newest local change
_local_lock = threading.Lock()
_thread = threading.local()  # per thread: the newest change a shared move already covers


def current(using: str = DEFAULT_DB_ALIAS) -> tuple[int, int]:
    """(shared, local): read this *before* reading what a page shows."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT value FROM approvals_changecounter WHERE id = %s", [_ROW])
        row = cursor.fetchone()
    return (int(row[0]) if row else 0), _local


def noted(using: str | None = None) -> None:
    """Something a queue page shows has changed (or is changing in the current transaction)."""
    global _local
    with _local_lock:  # so that it never moves back when two threads note at once
        _local = mark = next(_local_counter)
    transaction.on_commit(partial(_move_shared, mark, using or DEFAULT_DB_ALIAS), using=using)


def _move_shared(mark: int, using: str) -> None:
    # One move per commit, however many changes it held: the callbacks of one commit run
    # one after another in this thread, and no other commit of this thread's can come
    # between a change being noted and its own commit. So a move that started after this
    # change was noted ran after its commit, and covers it.
    if getattr(_thread, "covered", 0) >= mark:
        return
    _thread.covered = _local
    try:
        with connections[using].cursor() as cursor:
            cursor.execute(
                "UPDATE approvals_changecounter SET value = value + 1 WHERE id = %s", [_ROW]
            )
            moved = cursor.rowcount
        if not moved:
            from approvals.models import ChangeCounter

            ChangeCounter.objects.using(using).get_or_create(id=_ROW, defaults={"value": 1})
    except Exception:
        # Never fails the code that made the change (it has committed). The pages' time
        # bound still holds; the next change moves it.
        _thread.covered = 0
        logger.exception("could not move the change counter")


def _on_model_change(sender: Any, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    noted(using)


def connect() -> None:
    """Note saves and deletes of what queue pages show (called once, at start)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from approvals.models import Approval, ApprovalPolicy, Decision, Viewer, Vote

    user_model = get_user_model()
    for model in (Approval, Vote, Decision, Viewer, user_model, Group, ApprovalPolicy):
        post_save.connect(_on_model_change, sender=model, dispatch_uid=f"changes-{model}")
        post_delete.connect(_on_model_change, sender=model, dispatch_uid=f"changes-del-{model}")
    through_models = (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
        ApprovalPolicy.approver_groups.through,
    )
    for through in through_models:
        m2m_changed.connect(_on_model_change, sender=through, dispatch_uid=f"changes-{through}")
