"""Upstream ids become links in the admin: they are quoted, so an id holding ``/../``, ``?`` or
``#`` cannot point a link anywhere else."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import make_approval

pytestmark = pytest.mark.django_db


def test_the_dashboard_link_quotes_a_hostile_token_id(admin_user: Any, settings: Any) -> None:
    settings.TRIGGER_RUN_URL_TEMPLATE = "https://cloud.trigger.dev/runs/{run_id}"
    make_approval(token_id="waitpoint_../../admin/?x#y", run_id="run_../../evil?#")
    client = Client()
    client.force_login(admin_user)

    page = client.get(reverse("admin:approvals_approval_changelist")).content.decode()

    assert 'href="/approvals/waitpoint_../../admin/?x#y/"' not in page
    assert "/approvals/waitpoint_../../admin/%3Fx%23y/" in page
    assert "https://cloud.trigger.dev/runs/run_..%2F..%2Fevil%3F%23" in page
