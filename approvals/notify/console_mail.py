"""The demo's mail server: nothing leaves the machine, one line per message in the log.

With the embedded sandbox and no ``EMAIL_HOST``, email is "sent" here (docs/notifications.md,
"Settings"). Django's console backend would print every message whole, HTML part included,
dozens at a time when the demo starts; one line says who got what, and each person reads
their own under Notifications (the outbox keeps the message as sent).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

logger = logging.getLogger("approvals.notify.mail")


class OneLineBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            logger.info("mail to %s: %s", ", ".join(message.to), message.subject)
        return len(email_messages)
