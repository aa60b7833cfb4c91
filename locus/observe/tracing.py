"""Spans of one graph execution: the execution, its steps, its nodes; pauses and links.

The execution span (``invoke_workflow {graph}``) is a child of whatever span is current
when ``execute`` is called; steps are its children and nodes the steps' children. A
node's span is the current span while the node runs, so model and tool spans (and the
user's own) nest under it. A pause ends every open span with status OK and adds an
``interrupt`` event per pending interrupt. The execution span's context is written into
the run's marker (the snapshot or the stored checkpoint); the execution that resumes the
run starts a new trace whose execution span links to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry.trace import (
    Link,
    SpanContext,
    Status,
    StatusCode,
    TraceFlags,
    set_span_in_context,
)

from locus.observe.links import LinkData, interrupt_attributes

if TYPE_CHECKING:
    from locus.multiagent.run_state import PendingInterrupt

__all__ = ["RunTrace"]


class RunTrace:
    """The open spans of one execution."""

    __slots__ = ("ctx", "span", "step_span", "tracer")

    def __init__(
        self,
        tracer: Any,
        graph: str,
        thread_id: str | None,
        run_id: str,
        kind: str,
        link: LinkData | None,
    ) -> None:
        self.tracer = tracer
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.workflow.name": graph,
            "locus.graph": graph,
            "locus.run_id": run_id,
            "locus.execution": kind,
        }
        if thread_id is not None:
            attributes["locus.thread_id"] = thread_id
        links = []
        if link is not None and link.trace_id:
            linked = SpanContext(
                link.trace_id, link.span_id, is_remote=True, trace_flags=TraceFlags(link.flags)
            )
            reason = "resumes_pause" if link.state == "paused" else "continues_run"
            links.append(Link(linked, {"locus.link": reason}))
        self.span = tracer.start_span(
            f"invoke_workflow {graph}", attributes=attributes, links=links
        )
        self.ctx = set_span_in_context(self.span)
        self.step_span: Any = None

    def marker(self, state: str, paused_at: float | None = None) -> dict[str, Any]:
        """What the run's marker stores so that a later execution can link to this one."""
        sc = self.span.get_span_context()
        out: dict[str, Any] = {
            "trace_id": format(sc.trace_id, "032x"),
            "span_id": format(sc.span_id, "016x"),
            "flags": int(sc.trace_flags),
            "state": state,
        }
        if paused_at is not None:
            out["paused_at"] = paused_at
        return out

    def step_started(self, step: int, frontier: list[str]) -> None:
        """Open the span of ``step``, a child of the execution span."""
        self.step_span = self.tracer.start_span(
            f"step {step}",
            context=self.ctx,
            attributes={"locus.step": step, "locus.nodes": list(frontier)},
        )

    def step_finished(self) -> None:
        """End the open step span, if any, with status OK."""
        span = self.step_span
        if span is not None:
            span.set_status(Status(StatusCode.OK))
            span.end()
            self.step_span = None

    def node_started(self, name: str, step: int) -> tuple[Any, Any]:
        """Open a node span under the step and make it current; returns (span, token)."""
        parent = self.ctx if self.step_span is None else set_span_in_context(self.step_span)
        span = self.tracer.start_span(
            f"node {name}", context=parent, attributes={"locus.node": name, "locus.step": step}
        )
        return span, otel_context.attach(set_span_in_context(span, parent))

    @staticmethod
    def node_finished(
        span: Any, token: Any, interrupts: list[PendingInterrupt] | None = None
    ) -> None:
        """Make the node span no longer current and end it OK, noting its interrupts."""
        otel_context.detach(token)
        if interrupts:
            span.set_attribute("locus.paused", True)
            for pending in interrupts:
                span.add_event("interrupt", interrupt_attributes(pending))
        span.set_status(Status(StatusCode.OK))
        span.end()

    @staticmethod
    def node_failed(span: Any, token: Any, exc: BaseException) -> None:
        """Make the node span no longer current and end it with ERROR status."""
        otel_context.detach(token)
        _fail(span, exc)
        span.end()

    def paused(self, pending: list[PendingInterrupt], kind: str) -> None:
        """Add an ``interrupt`` event per pending interrupt; end the step span OK."""
        for target in (self.span, self.step_span):
            if target is None:
                continue
            for p in pending:
                target.add_event("interrupt", interrupt_attributes(p))
        self.span.set_attribute("locus.pause", kind)
        self.step_finished()

    def finished(self, status: str, steps: int) -> None:
        """End the execution span with status OK (``status``: paused or done)."""
        span = self.span
        span.set_attribute("locus.run.status", status)
        span.set_attribute("locus.steps", steps)
        span.set_status(Status(StatusCode.OK))
        span.end()

    def failed(self, exc: BaseException) -> None:
        """End the open step span and the execution span with ERROR status."""
        if self.step_span is not None:
            _fail(self.step_span, exc)
            self.step_span.end()
            self.step_span = None
        _fail(self.span, exc)
        self.span.set_attribute("locus.run.status", "failed")
        self.span.end()


def _fail(span: Any, exc: BaseException) -> None:
    if isinstance(exc, Exception):
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        span.set_attribute("error.type", type(exc).__qualname__)
    node = getattr(exc, "node", None)
    if isinstance(node, str):
        span.set_attribute("locus.node", node)
