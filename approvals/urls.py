from __future__ import annotations

from django.urls import path

from approvals import views
from approvals.notify import views as notify_views

urlpatterns = [
    path("", views.queue, name="home"),
    path("bulk/", views.bulk_decide, name="bulk_decide"),
    path("approvals/<path:token_id>/", views.approval_detail, name="approval_detail"),
    path("approvals/<path:token_id>/approve", views.approve, name="approve"),
    path("approvals/<path:token_id>/reject", views.reject, name="reject"),
    path("history/", views.history, name="history"),
    path(
        "settings/notifications/",
        notify_views.notification_settings,
        name="notification_settings",
    ),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
]
