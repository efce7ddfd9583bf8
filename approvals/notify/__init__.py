"""Notifications: approvals come to the people who may decide them (docs/notifications.md).

The change events (approvals.events) are written down as occurrences; the sync worker's
leader turns each into deliveries (an email per person, a POST per webhook or Slack channel),
kept in an outbox and sent, retried and recorded there. Nothing here runs while a reviewer
waits: a decision only writes one row.
"""
