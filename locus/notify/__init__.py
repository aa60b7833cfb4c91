"""Notifications about pending items: a webhook, Slack and email, delivered at least once.

``Notifications(checkpointer, [WebhookNotifier(...), ...])`` reads the store's audit feed
(the outbox the inbox writes in the same transaction as each pause), keeps every notifier's
cursor and deliveries in the same store, and retries with backoff; ``await n.run()`` in a
process of its own, or ``run_once()`` from a scheduler. Needs ``pip install 'locus[web]'``.
"""

from __future__ import annotations

from locus.errors import NotificationError
from locus.notify import _requires  # noqa: F401  (first: names a missing extra)
from locus.notify.base import Notice, Notifier
from locus.notify.dispatch import Notifications
from locus.notify.email import EmailLinks, EmailNotifier
from locus.notify.ledger import Delivery
from locus.notify.signing import sign_webhook, verify_slack, verify_webhook
from locus.notify.slack import SlackInteractions, SlackNotifier
from locus.notify.webhook import WebhookNotifier

__all__ = [
    "Delivery",
    "EmailLinks",
    "EmailNotifier",
    "Notice",
    "NotificationError",
    "Notifications",
    "Notifier",
    "SlackInteractions",
    "SlackNotifier",
    "WebhookNotifier",
    "sign_webhook",
    "verify_slack",
    "verify_webhook",
]
