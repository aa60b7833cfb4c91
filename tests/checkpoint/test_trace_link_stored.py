"""Every backend stores a pause's span context with the thread, so the resume links to it."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from locus.checkpoint import Checkpointer
from locus.core import Command, interrupt
from locus.multiagent import END, START, StateGraph


def executions(exporter: InMemorySpanExporter, graph: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == f"invoke_workflow {graph}"]


def build(cp: Checkpointer) -> StateGraph:
    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        return {"ok": interrupt({"question": "ok?"})}

    graph = StateGraph("linked", checkpointer=cp).add_node("approve", approve)
    graph.add_edge(START, "approve").add_edge("approve", END)
    return graph


async def test_the_resume_of_a_stored_thread_links_to_the_execution_that_paused(
    cp: Checkpointer, span_exporter: InMemorySpanExporter
) -> None:
    await build(cp).execute({}, thread_id="t-link")
    (paused,) = span_exporter.get_finished_spans()[-1:]
    span_exporter.clear()

    await build(cp).execute(Command(resume="yes"), thread_id="t-link")

    (resumed,) = [
        s for s in span_exporter.get_finished_spans() if s.name == "invoke_workflow linked"
    ]
    assert paused.name == "invoke_workflow linked"
    (link,) = resumed.links
    assert (link.context.trace_id, link.context.span_id) == (
        paused.context.trace_id,
        paused.context.span_id,
    )
    assert resumed.context.trace_id != paused.context.trace_id


async def test_continuing_a_failed_run_links_to_the_execution_that_failed(
    cp: Checkpointer, span_exporter: InMemorySpanExporter
) -> None:
    from locus.errors import NodeExecutionError

    calls: list[int] = []

    async def prepare(state: dict[str, Any]) -> dict[str, Any]:
        return {"n": 1}

    async def flaky(state: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("downstream service down")
        return {"done": True}

    graph = StateGraph("flaky", checkpointer=cp).add_node("prepare", prepare)
    graph.add_node("flaky", flaky)
    graph.add_edge(START, "prepare").add_edge("prepare", "flaky").add_edge("flaky", END)
    with pytest.raises(NodeExecutionError):
        await graph.execute({}, thread_id="t-flaky")
    (failed,) = executions(span_exporter, "flaky")
    span_exporter.clear()

    await graph.execute(None, thread_id="t-flaky")

    (continued,) = [
        s for s in span_exporter.get_finished_spans() if s.name == "invoke_workflow flaky"
    ]
    (link,) = continued.links
    assert link.context.span_id == failed.context.span_id
    assert link.attributes is not None
    assert link.attributes["locus.link"] == "continues_run"
    assert continued.attributes is not None
    assert continued.attributes["locus.execution"] == "continue"
