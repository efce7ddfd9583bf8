"""Fixtures for the page tests: a browser-like client signed in as each persona."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

# What django-htmx reads to recognise an htmx request.
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def rita(client: Client, reviewer: Any) -> Client:
    """A client signed in as Rita, who may decide."""
    client.force_login(reviewer)
    return client


@pytest.fixture
def otto(client: Client, outsider: Any) -> Client:
    """A client signed in as Otto, who may look but not decide."""
    client.force_login(outsider)
    return client
