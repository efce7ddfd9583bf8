"""Live updates: change events pushed to open browsers over websockets (docs/live-updates.md).

``broadcast`` forwards each change event (approvals.events) to Channels groups; the consumers
in ``consumers`` render, for each connected user, the same template partials the pages use
(``fragments``) and send them for htmx to swap in out of band; ``presence`` records who has
an approval's page open.
"""
