"""Pending interrupts as durable work items: answer from anywhere, who may, by when, audited.

``Inbox(checkpointer)`` lists what waits (``pending``, ``get``), stores answers without
running the graph (``answer``), applies deadlines (``expire_due``) and reads the
hash-chained audit trail (``audit``, ``verify_audit``, ``feed``). ``interrupt()`` declares
the rules with ``answerers=Answerers(...)``, ``deadline=...`` and ``on_timeout=...``.
"""

from __future__ import annotations

from locus.checkpoint.audit import AuditCheck, AuditEntry
from locus.inbox.inbox import AnswerReceipt, Inbox, InboxItem, InboxPage, TimeoutAction
from locus.inbox.rules import Actor, Answerers, Escalate, Expire

__all__ = [
    "Actor",
    "AnswerReceipt",
    "Answerers",
    "AuditCheck",
    "AuditEntry",
    "Escalate",
    "Expire",
    "Inbox",
    "InboxItem",
    "InboxPage",
    "TimeoutAction",
]
