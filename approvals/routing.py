"""Websocket routes (docs/live-updates.md, "Endpoints"); approvals_site.asgi wraps them in the
session login and the origin check."""

from __future__ import annotations

from typing import Any

from django.urls import path

from approvals.live.consumers import ApprovalConsumer, QueueConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/approvals/", QueueConsumer.as_asgi(), name="live_queue"),
    path("ws/approvals/<path:token_id>/", ApprovalConsumer.as_asgi(), name="live_approval"),
]
