"""locus's loggers: one line per significant event, silent until the application says.

The ``locus`` logger gets a ``NullHandler``, so nothing is printed unless the application
configures logging. Records carry ``thread_id``, ``graph``, ``node`` and ``interrupt_id`` as
``extra`` fields (``None`` when they do not apply) for structured handlers. Nothing at
INFO or above holds prompt or completion text, tool arguments, or credentials.

Loggers: ``locus.graph`` (runs: start, pause, resume, finish, failure; nodes at DEBUG),
``locus.checkpoint`` (lease conflicts), ``locus.models.retry`` (provider retries).
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["checkpoint_log", "fields", "get_logger", "graph_log"]


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


_root = logging.getLogger("locus")
if not any(isinstance(h, logging.NullHandler) for h in _root.handlers):
    _root.addHandler(logging.NullHandler())

graph_log = logging.getLogger("locus.graph")
checkpoint_log = logging.getLogger("locus.checkpoint")
