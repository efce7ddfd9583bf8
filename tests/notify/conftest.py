from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User

from approvals.notify import environment
from tests.notify.parts import Mailbox, Receiver


@pytest.fixture
def mailbox(settings: Any) -> Iterator[Mailbox]:
    """A real SMTP server on loopback, and the dashboard set to send to it."""
    box = Mailbox().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = box.port
    settings.NOTIFY_EMAIL = True
    settings.APPROVALS_BASE_URL = "https://approvals.example.com"
    yield box
    box.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_environment_channel() -> Iterator[None]:
    environment.forget()
    yield
    environment.forget()


@pytest.fixture
def reviewers_group(db: None) -> Group:
    group, _ = Group.objects.get_or_create(name="Reviewers")
    group.permissions.add(Permission.objects.get(codename="decide_approval"))
    return group


def person(name: str, *groups: Group, **fields: Any) -> User:
    user = User.objects.create_user(name, f"{name}@example.com", "x-pass-123", **fields)
    user.groups.add(*groups)
    return user
