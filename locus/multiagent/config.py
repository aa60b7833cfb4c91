"""``GraphConfig``: the run-time settings of one graph."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from locus.checkpoint import Checkpointer

__all__ = ["DEFAULT_LEASE_SECONDS", "DEFAULT_MAX_STEPS", "GraphConfig"]

DEFAULT_MAX_STEPS = 100
DEFAULT_LEASE_SECONDS = 30.0


@dataclass
class GraphConfig:
    """Settings read at the start of every ``execute``; change them between runs freely.

    Attributes:
        interrupt_before: pause before any of these nodes runs (static breakpoints).
        interrupt_after: pause after any of these nodes has run.
        max_steps: the most steps one run may take (across resumes) before
            ``GraphRecursionError``; bounds loops through conditional edges.
        checkpointer: where paused and running threads are stored (see ``locus.checkpoint``).
        lease_seconds: with a checkpointer, how long a thread stays claimed by an execution
            that stopped renewing its lease (a killed process) before another may take it.
    """

    interrupt_before: list[str] = field(default_factory=list)
    interrupt_after: list[str] = field(default_factory=list)
    max_steps: int = DEFAULT_MAX_STEPS
    checkpointer: Checkpointer | None = None
    lease_seconds: float = DEFAULT_LEASE_SECONDS
