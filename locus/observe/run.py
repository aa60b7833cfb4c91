"""``RunObserver``: what one graph execution reports to its spans, metrics and logs.

The runtime holds one only while something observes (see ``hooks.open_run``); every
method is a few attribute checks when only logging, or only metrics, is on.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from locus.observe.logs import actor_fields, describe_actor, fields, graph_log

if TYPE_CHECKING:
    from locus.core.command import Command
    from locus.multiagent.result import GraphResult
    from locus.multiagent.run_state import PendingInterrupt, RunState
    from locus.observe.links import LinkData
    from locus.observe.otel import Observer
    from locus.observe.tracing import RunTrace

__all__ = ["RunObserver", "wall_clock"]

#: seconds since the epoch, for the human wait (stored with a pause, read on resume)
wall_clock = time.time
_DEBUG = 10
_INFO = 20

NodeHandle = tuple[str, float, Any, Any]


class RunObserver:
    """One execution's observer: spans (when tracing), metrics (when metering), logs."""

    __slots__ = (
        "attrs",
        "graph",
        "instruments",
        "opened",
        "opened_wall",
        "resuming",
        "run_id",
        "step_started_at",
        "thread_id",
        "trace",
        "tracer",
    )

    def __init__(self, graph: str, thread_id: str | None, otel: Observer | None) -> None:
        self.graph = graph
        self.thread_id = thread_id
        self.tracer = otel.tracer if otel is not None else None
        self.instruments = otel.instruments if otel is not None else None
        self.trace: RunTrace | None = None
        self.attrs = {"locus.graph": graph}
        # the answer arrives when execute() is called: waits and delays are measured from here
        self.opened = time.perf_counter()
        self.opened_wall = wall_clock()
        self.resuming: dict[str, str] = {}
        self.run_id = ""
        self.step_started_at = 0.0

    def _fields(self, node: str | None = None, interrupt_id: str | None = None) -> dict[str, Any]:
        return fields(
            graph=self.graph,
            thread_id=self.thread_id,
            node=node,
            interrupt_id=interrupt_id,
            run_id=self.run_id,
        )

    # --- the execution ----------------------------------------------------------------------

    def begin(self, rs: RunState, kind: str, command: Command | None = None) -> None:
        """An execution starts (``kind``: start, resume or continue) over ``rs``."""
        self.run_id = rs.run_id
        link: LinkData | None = None
        if rs.trace is not None:
            from locus.observe.links import parse_link

            link = parse_link(rs.trace)
        if self.tracer is not None:
            from locus.observe.tracing import RunTrace

            self.trace = RunTrace(self.tracer, self.graph, self.thread_id, rs.run_id, kind, link)
            rs.trace = self.trace.marker("running")
        else:
            rs.trace = None
        instruments = self.instruments
        if instruments is not None:
            counter = instruments.runs_started if kind == "start" else instruments.runs_resumed
            counter.add(1, {**self.attrs, "locus.execution": kind})
        if command is not None:
            self._answered(rs, command, link)
        if graph_log.isEnabledFor(_INFO):
            verb = {"start": "started", "resume": "resumed", "continue": "continued"}[kind]
            graph_log.info(
                "run %s of graph %r %s at step %d",
                rs.run_id,
                self.graph,
                verb,
                rs.step,
                extra=self._fields(),
            )

    def _answered(self, rs: RunState, command: Command, link: LinkData | None) -> None:
        if command.resume_by_id:
            ids = set(command.resume_by_id)
            answered = [p for p in rs.pending if p.id in ids]
        elif command.has_resume or command.goto is not None:
            answered = list(rs.pending)
        else:
            return
        paused_at = link.paused_at if link is not None and link.state == "paused" else None
        instruments = self.instruments
        for pending in answered:
            waited = None if paused_at is None else max(self.opened_wall - paused_at, 0.0)
            if instruments is not None and waited is not None:
                instruments.interrupt_wait.record(
                    waited, {**self.attrs, "locus.node": pending.node}
                )
            if command.goto is None:
                self.resuming[pending.node] = pending.id
            if self.trace is not None:
                answer: dict[str, Any] = {
                    "locus.interrupt.id": pending.id,
                    "locus.node": pending.node,
                }
                if waited is not None:
                    answer["locus.interrupt.wait_seconds"] = waited
                self.trace.span.add_event("answer", answer)
            if graph_log.isEnabledFor(_INFO):
                who = actor_fields(command.actor)
                graph_log.info(
                    "interrupt %s at node %r answered%s%s",
                    pending.id,
                    pending.node,
                    describe_actor(who),
                    "" if waited is None else f" after {waited:.1f}s",
                    extra={**self._fields(pending.node, pending.id), **who},
                )

    def paused(self, rs: RunState) -> None:
        """The run pauses with ``rs.pending``; the marker gets the link and the pause time."""
        now = wall_clock()
        self.step_started_at = 0.0  # a paused step is not a finished one: no duration
        trace = self.trace
        if trace is not None:
            trace.paused(rs.pending, str(rs.kind))  # ends the open step span with its events
            rs.trace = trace.marker("paused", now)
        else:
            rs.trace = {"state": "paused", "paused_at": now}
        if self.instruments is not None:
            self.instruments.runs_paused.add(1, self.attrs)
        if graph_log.isEnabledFor(_INFO):
            for pending in rs.pending:
                graph_log.info(
                    "run %s of graph %r paused at node %r: interrupt %s (%s)",
                    rs.run_id,
                    self.graph,
                    pending.node,
                    pending.id,
                    rs.kind,
                    extra=self._fields(pending.node, pending.id),
                )

    def finished(self, result: GraphResult) -> None:
        """The execution returned: paused, or the run reached END."""
        status = "paused" if result.is_interrupted else "done"
        self.step_finished()
        if self.trace is not None:
            self.trace.finished(status, result.steps)
        if status == "done":
            if self.instruments is not None:
                self.instruments.runs_finished.add(1, self.attrs)
            if graph_log.isEnabledFor(_INFO):
                graph_log.info(
                    "run %s of graph %r finished after %d steps (%.1f ms in this execution)",
                    self.run_id,
                    self.graph,
                    result.steps,
                    (time.perf_counter() - self.opened) * 1e3,
                    extra=self._fields(),
                )

    def failed(self, exc: BaseException) -> None:
        """The execution raised ``exc``."""
        self.step_started_at = 0.0
        if self.trace is not None:
            self.trace.failed(exc)
        if not isinstance(exc, Exception):
            return
        if self.instruments is not None:
            self.instruments.runs_failed.add(
                1, {**self.attrs, "error.type": type(exc).__qualname__}
            )
        node = getattr(exc, "node", None)
        if graph_log.isEnabledFor(_INFO):
            # the message may quote state or model output: only the class at INFO
            graph_log.info(
                "run %s of graph %r failed with %s%s",
                self.run_id,
                self.graph,
                type(exc).__name__,
                f" at node {node!r}" if node else "",
                extra=self._fields(node if isinstance(node, str) else None),
            )
        graph_log.debug("run %s failed", self.run_id, exc_info=exc, extra=self._fields())

    # --- steps and nodes --------------------------------------------------------------------

    def step_started(self, step: int, frontier: list[str]) -> None:
        """A step begins; the previous one, if still open, ends here."""
        self.step_finished()
        self.step_started_at = time.perf_counter()
        if self.trace is not None:
            self.trace.step_started(step, frontier)

    def step_finished(self) -> None:
        """End the open step, if any (also called when the run pauses, ends or fails)."""
        if not self.step_started_at:
            return
        if self.instruments is not None:
            self.instruments.step_duration.record(
                time.perf_counter() - self.step_started_at, self.attrs
            )
        self.step_started_at = 0.0
        if self.trace is not None:
            self.trace.step_finished()

    def node_started(self, name: str, step: int) -> NodeHandle:
        """A node begins: its span becomes current; a resumed node's delay is recorded."""
        started = time.perf_counter()
        if self.resuming:
            answered = self.resuming.pop(name, None)
            if answered is not None and self.instruments is not None:
                self.instruments.resume_delay.record(
                    started - self.opened, {**self.attrs, "locus.node": name}
                )
        span = token = None
        if self.trace is not None:
            span, token = self.trace.node_started(name, step)
        if graph_log.isEnabledFor(_DEBUG):
            graph_log.debug("node %r started (step %d)", name, step, extra=self._fields(name))
        return name, started, span, token

    def node_finished(self, handle: NodeHandle, rs: RunState, pending: list[Any] | None) -> None:
        name, started, span, token = handle
        elapsed = time.perf_counter() - started
        interrupts: list[PendingInterrupt] | None = None
        if pending:
            from locus.multiagent.run_state import PendingInterrupt, interrupt_id

            # a subgraph node passes its inner interrupts already named by their paths
            interrupts = [
                c
                if isinstance(c, PendingInterrupt)
                else PendingInterrupt(
                    interrupt_id(rs.run_id, rs.step, name, c.index), name, c.index, c.payload
                )
                for c in pending
            ]
        if span is not None:
            from locus.observe.tracing import RunTrace

            RunTrace.node_finished(span, token, interrupts)
        if self.instruments is not None:
            outcome = "paused" if pending else "done"
            self.instruments.node_duration.record(
                elapsed, {**self.attrs, "locus.node": name, "locus.node.outcome": outcome}
            )
        if graph_log.isEnabledFor(_DEBUG):
            graph_log.debug(
                "node %r %s in %.2f ms",
                name,
                "paused" if pending else "finished",
                elapsed * 1e3,
                extra=self._fields(name),
            )

    def node_failed(self, handle: NodeHandle, exc: BaseException) -> None:
        """A node raised ``exc``: its span ends with ERROR status."""
        name, started, span, token = handle
        if span is not None:
            from locus.observe.tracing import RunTrace

            RunTrace.node_failed(span, token, exc)
        if self.instruments is not None and isinstance(exc, Exception):
            self.instruments.node_duration.record(
                time.perf_counter() - started,
                {**self.attrs, "locus.node": name, "locus.node.outcome": "failed"},
            )
