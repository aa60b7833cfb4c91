"""Spans of graph runs: the tree of example 02, pauses that end OK, resumes linked to them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.trace import StatusCode
from telemetry import Telemetry

from locus.core import Command, interrupt
from locus.errors import NodeExecutionError
from locus.multiagent import END, START, StateGraph

ROOT = Path(__file__).resolve().parents[2]


def load_triage_example() -> Any:
    spec = importlib.util.spec_from_file_location(
        "example_02_triage", ROOT / "examples" / "02_multi_agent_triage.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tree(t: Telemetry, span: Any) -> list[Any]:
    return [(c.name, tree(t, c)) for c in t.children(span)]


def events(span: Any, name: str) -> list[dict[str, Any]]:
    return [dict(e.attributes or {}) for e in span.events if e.name == name]


@pytest.fixture
def triage(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("LOCUS_MODEL_PROVIDER", "mock")
    return load_triage_example()


async def test_example_02_technical_ticket_gives_one_trace_per_execution_linked_across_pauses(
    telemetry: Telemetry, triage: Any
) -> None:
    graph = triage.support_graph()
    asked = await graph.execute({"request": "The app shows an error at login."})
    drafted = await graph.execute(Command(update=asked.final_state, resume="version 3.2"))
    done = await graph.execute(Command(update=drafted.final_state, resume="yes"))
    assert done.final_state["outcome"] == "sent"

    runs = sorted(telemetry.named("invoke_workflow"), key=lambda s: s.start_time or 0)
    assert [r.name for r in runs] == ["invoke_workflow support-triage"] * 3
    first, second, third = runs
    assert all(r.parent is None for r in runs)
    assert len({r.context.trace_id for r in runs}) == 3
    assert tree(telemetry, first) == [
        ("step 0", [("node triage", [("chat support-desk", [])])]),
        (
            "step 1",
            [("node technical", [("chat support-desk", []), ("execute_tool ask_human", [])])],
        ),
    ]
    assert tree(telemetry, second) == [
        (
            "step 1",
            [
                (
                    "node technical",
                    [
                        ("chat support-desk", []),
                        ("execute_tool ask_human", []),
                        ("chat support-desk", []),
                    ],
                )
            ],
        ),
        ("step 2", [("node approve", [])]),
    ]
    assert tree(telemetry, third) == [
        ("step 2", [("node approve", [])]),
        ("step 3", [("node send", [])]),
    ]

    # a pause ends the spans OK, with an interrupt event naming the interrupt
    pending = asked.interrupts[0].interrupt
    node = next(
        s for s in telemetry.named("node technical") if s.context.trace_id == first.context.trace_id
    )
    for span in (first, node):
        assert span.status.status_code is StatusCode.OK
        (event,) = events(span, "interrupt")
        assert event["locus.interrupt.id"] == pending.id
        assert event["locus.node"] == "technical"
        assert len(event["locus.interrupt.payload_digest"]) == 24
    assert first.attributes["locus.run.status"] == "paused"
    assert first.attributes["gen_ai.workflow.name"] == "support-triage"

    # each resume links to the execution that paused, and says which answer it carries
    for resumed, paused in ((second, first), (third, second)):
        (link,) = resumed.links
        assert link.context.trace_id == paused.context.trace_id
        assert link.context.span_id == paused.context.span_id
        assert link.attributes["locus.link"] == "resumes_pause"
    assert events(second, "answer")[0]["locus.interrupt.id"] == pending.id
    assert third.attributes["locus.run.status"] == "done"


async def test_calls_answered_from_the_journal_are_marked_replayed(
    telemetry: Telemetry, triage: Any
) -> None:
    graph = triage.support_graph()
    asked = await graph.execute({"request": "The app shows an error at login."})
    await graph.execute(Command(update=asked.final_state, resume="version 3.2"))

    resumed = max(telemetry.named("invoke_workflow"), key=lambda s: s.start_time or 0)
    node = next(
        s
        for s in telemetry.named("node technical")
        if s.context.trace_id == resumed.context.trace_id
    )
    calls = [(c.name, c.attributes["locus.replayed"]) for c in telemetry.children(node)]
    assert calls == [
        ("chat support-desk", True),
        ("execute_tool ask_human", False),
        ("chat support-desk", False),
    ]


async def test_a_replayed_tool_result_is_marked_and_the_tool_does_not_run_again(
    telemetry: Telemetry,
) -> None:
    from locus.agent import Agent, AgentConfig
    from locus.core.messages import ToolCall
    from locus.models import MockModel
    from locus.tools import tool

    ran: list[int] = []

    @tool
    def lookup(order_id: int) -> str:
        """Look an order up.

        Args:
            order_id: The order.
        """
        ran.append(order_id)
        return "found"

    @tool
    def ask(question: str) -> str:
        """Ask a person.

        Args:
            question: The question.
        """
        return str(interrupt({"question": question}))

    model = MockModel(
        "replay",
        function=lambda messages, info: (
            [ToolCall(id="l1", name="lookup", arguments={"order_id": 7})]
            if sum(m.role == "tool" for m in messages) == 0
            else [ToolCall(id="a1", name="ask", arguments={"question": "ok?"})]
            if sum(m.role == "tool" for m in messages) == 1
            else "done"
        ),
    )
    agent = Agent(config=AgentConfig(agent_id="a", model=model, tools=[lookup, ask]))

    async def work(state: dict[str, Any]) -> dict[str, Any]:
        return {"text": (await agent.arun("go")).text}

    graph = StateGraph("replay").add_node("work", work)
    graph.add_edge(START, "work").add_edge("work", END)
    paused = await graph.execute({})
    telemetry.spans_exporter.clear()
    await graph.execute(Command(update=paused.final_state, resume="yes"))

    assert ran == [7]
    tools = {s.attributes["gen_ai.tool.call.id"]: s for s in telemetry.named("execute_tool")}
    assert tools["l1"].attributes["locus.replayed"] is True
    assert tools["a1"].attributes["locus.replayed"] is False


async def test_a_failing_node_sets_error_status_with_the_exception_recorded(
    telemetry: Telemetry,
) -> None:
    async def broken(state: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("no such customer")

    graph = StateGraph("broken").add_node("broken", broken)
    graph.add_edge(START, "broken").add_edge("broken", END)

    with pytest.raises(NodeExecutionError):
        await graph.execute({})

    (run,) = telemetry.named("invoke_workflow")
    (node,) = telemetry.named("node broken")
    (step,) = telemetry.named("step 0")
    for span in (run, step, node):
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes["error.type"] == "NodeExecutionError"
    (exception,) = events(node, "exception")
    assert exception["exception.type"].endswith("NodeExecutionError")
    assert "no such customer" in exception["exception.message"]


async def test_a_subgraph_node_that_pauses_records_its_inner_interrupt_by_path(
    telemetry: Telemetry,
) -> None:
    inner = StateGraph("refund")

    def approve(state: dict[str, Any]) -> dict[str, Any]:
        return {"ok": interrupt("refund?")}

    inner.add_node("approve", approve).add_edge(START, "approve").add_edge("approve", END)
    outer = StateGraph("desk")
    outer.add_node("refund", inner).add_edge(START, "refund").add_edge("refund", END)

    paused = await outer.execute({})

    (node,) = telemetry.named("node refund")
    assert node.attributes is not None and node.attributes["locus.paused"] is True
    (event,) = events(node, "interrupt")
    assert event["locus.interrupt.id"] == paused.interrupts[0].interrupt.id
    assert event["locus.node"] == "refund/approve"


async def test_the_interrupt_event_carries_the_deadline_interrupt_declared(
    telemetry: Telemetry,
) -> None:
    import datetime as dt

    due = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        return {"ok": interrupt({"question": "Refund?"}, deadline=due) == "yes"}

    graph = StateGraph("deadlines")
    graph.add_node("approve", approve).add_edge(START, "approve").add_edge("approve", END)
    await graph.execute({})
    (run,) = telemetry.named("invoke_workflow")
    (event,) = events(run, "interrupt")
    assert event["locus.interrupt.deadline"] == "2030-01-02T03:04:05+00:00"
