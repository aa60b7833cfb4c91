"""The runtime's view of observability: an object to report to, or ``None``.

The graph runtime and the agent loop ask once per execution (``open_run``) or once per
model/tool call (``active``). When nobody observes they get ``None`` after a dict lookup
or two, and never import OpenTelemetry: ``opentelemetry`` not being in ``sys.modules``
means no tracer or meter provider can have been set, unless ``configure`` was given one.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from locus.observe.settings import settings

if TYPE_CHECKING:
    from locus.observe.otel import Observer
    from locus.observe.run import RunObserver

__all__ = ["active", "open_run"]

_MODULES = sys.modules
_resolve: Any = None
_graph_log: Any = None
_INFO = 20


def active() -> Observer | None:
    """The OpenTelemetry observer in force, or ``None`` when no provider is set."""
    if (
        settings.tracer_provider is None
        and settings.meter_provider is None
        and "opentelemetry" not in _MODULES
    ):
        return None
    resolve = _resolve or _load_resolve()
    observer: Observer | None = resolve()
    return observer


def _load_resolve() -> Any:
    global _resolve
    from locus.observe.otel import current

    _resolve = current
    return current


def _logging_on() -> bool:
    global _graph_log
    log = _graph_log
    if log is None:
        logging = _MODULES.get("logging")
        if logging is None:  # never imported: nobody can have configured a handler
            return False
        from locus.observe.logs import graph_log

        log = _graph_log = graph_log
    enabled: bool = log.isEnabledFor(_INFO)
    return enabled


def open_run(graph: str, thread_id: str | None) -> RunObserver | None:
    """What one graph execution reports to, or ``None`` when nothing would be recorded."""
    # once per execution, so the common "nothing observes" answer is inlined
    if (
        settings.tracer_provider is None
        and settings.meter_provider is None
        and "opentelemetry" not in _MODULES
    ):
        log = _graph_log
        if log is not None and not log.isEnabledFor(_INFO):
            return None
        if log is None and not _logging_on():
            return None
        otel = None
    else:
        otel = active()
        if otel is None and not _logging_on():
            return None
    from locus.observe.run import RunObserver

    return RunObserver(graph, thread_id, otel)


def log_lease_conflict(graph: str, thread_id: str, error: BaseException) -> None:
    """One INFO line when an execution finds its thread held or already answered."""
    if "logging" not in _MODULES:
        return
    from locus.observe.logs import checkpoint_log, fields

    checkpoint_log.info(
        "thread %r of graph %r is held by another execution: %s",
        thread_id,
        graph,
        error,
        extra=fields(graph=graph, thread_id=thread_id),
    )
