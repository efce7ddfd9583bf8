"""Channels group names (ASCII letters, digits, dots and hyphens; under 100 characters), by
approval id rather than token id: token ids are upstream text."""

from __future__ import annotations

QUEUE = "approvals.queue"


def approval(approval_id: int) -> str:
    return f"approvals.approval.{approval_id}"


def user(user_id: int) -> str:
    """Every socket of one user: told to close when that user signs out."""
    return f"approvals.user.{user_id}"
