"""locus's loggers: one line per significant event, silent until the application says.

The ``locus`` logger gets a ``NullHandler``, so nothing is printed unless the application
configures logging. Records carry ``thread_id``, ``graph``, ``node`` and ``interrupt_id`` as
``extra`` fields (``None`` when they do not apply) for structured handlers. Nothing at
INFO or above holds prompt or completion text, tool arguments, or credentials.

Loggers: ``locus.graph`` (runs: start, pause, resume with the answering actor, finish,
failure; nodes at DEBUG), ``locus.inbox`` (answers stored or refused, with the actor),
``locus.checkpoint`` (lease conflicts), ``locus.models.retry`` (provider retries).
An answer's record names the actor by ``actor`` (id) and ``actor_roles`` (sorted); the
answer's value is never logged.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = [
    "actor_fields",
    "checkpoint_log",
    "describe_actor",
    "fields",
    "get_logger",
    "graph_log",
    "inbox_log",
]


def get_logger(name: str) -> logging.Logger:
    """The logger ``name`` (under ``locus``), with the package's ``NullHandler`` in place."""
    return logging.getLogger(name)


def fields(
    *,
    graph: str | None = None,
    thread_id: str | None = None,
    node: str | None = None,
    interrupt_id: str | None = None,
    **more: Any,
) -> dict[str, Any]:
    """The ``extra`` dict for a record: the four standard fields plus ``more``."""
    return {
        "graph": graph,
        "thread_id": thread_id,
        "node": node,
        "interrupt_id": interrupt_id,
        **more,
    }


def actor_fields(actor: Any) -> dict[str, Any]:
    """``actor`` and ``actor_roles`` extras for an ``Actor``, its ``to_json`` dict, or ``None``."""
    if actor is None:
        return {"actor": None, "actor_roles": []}
    if isinstance(actor, dict):
        return {"actor": actor.get("id"), "actor_roles": sorted(actor.get("roles") or ())}
    return {"actor": actor.id, "actor_roles": sorted(actor.roles)}


def describe_actor(extra: dict[str, Any]) -> str:
    """`` by 'alice' (roles: manager)`` for a record's message; empty without an actor."""
    if extra["actor"] is None:
        return ""
    roles = extra["actor_roles"]
    return f" by {extra['actor']!r}" + (f" (roles: {', '.join(roles)})" if roles else "")


_root = logging.getLogger("locus")
if not any(isinstance(h, logging.NullHandler) for h in _root.handlers):
    _root.addHandler(logging.NullHandler())

graph_log = logging.getLogger("locus.graph")
checkpoint_log = logging.getLogger("locus.checkpoint")
inbox_log = logging.getLogger("locus.inbox")
