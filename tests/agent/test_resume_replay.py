"""Resume never repeats completed work: model calls replay, approved tools run once."""

from __future__ import annotations

from typing import Any

import pytest

from locus.agent import Agent, AgentConfig
from locus.core import Command, interrupt
from locus.core.events import TerminateEvent
from locus.errors import ReplayMismatchError
from locus.models import MockModel
from locus.models.mock import tool_call
from locus.multiagent import END, START, StateGraph
from locus.tools import tool


async def final_text(agent: Agent, prompt: str) -> str:
    text = ""
    async for event in agent.run(prompt):
        if isinstance(event, TerminateEvent):
            text = event.final_message or ""
    return text


def escalation_graph(model: MockModel) -> StateGraph:
    """The second seed's Pattern B: a triage agent, then a human when it is unsure."""

    async def triage(state: dict[str, Any]) -> dict[str, Any]:
        agent = Agent(config=AgentConfig(agent_id="triage", model=model, max_iterations=2))
        raw = await final_text(agent, f"Customer request: {state['request']!r}")
        first = (raw.lower().split() or ["escalate"])[0]
        category = first if first in {"refund", "billing", "technical"} else "escalate"
        if category == "escalate":
            category = interrupt({"question": "Pick a category", "draft": raw})
        return {"category": category}

    graph = StateGraph("escalation")
    graph.add_node("triage", triage).add_edge(START, "triage").add_edge("triage", END)
    return graph


async def test_triage_model_is_called_once_across_pause_and_resume() -> None:
    model = MockModel()  # the default mock never answers with a valid category
    graph = escalation_graph(model)
    paused = await graph.execute({"request": "flickering dashboard on Tuesdays"})
    assert paused.is_interrupted
    assert len(model.requests) == 1
    done = await escalation_graph(model).execute(
        Command(update=paused.final_state, resume="technical")
    )
    assert done.final_state["category"] == "technical"
    assert len(model.requests) == 1


async def test_changed_prompt_on_replay_raises_a_mismatch_naming_the_node() -> None:
    model = MockModel()
    paused = await escalation_graph(model).execute({"request": "first wording"})
    changed = {**paused.final_state, "request": "second wording"}
    with pytest.raises(ReplayMismatchError, match=r"'triage'.*model call #0"):
        await escalation_graph(model).execute(Command(update=changed, resume="technical"))


def refund_graph(model: MockModel, refunds: list[tuple[str, int]]) -> StateGraph:
    @tool(requires_approval=lambda args: args["amount"] > 100)
    def refund(order_id: str, amount: int) -> str:
        """Refund an order.

        Args:
            order_id: The order to refund.
            amount: Dollars to refund.
        """
        refunds.append((order_id, amount))
        return f"refunded {amount} on {order_id}"

    async def agent_node(state: dict[str, Any]) -> dict[str, Any]:
        agent = Agent(config=AgentConfig(agent_id="refunds", model=model, tools=[refund]))
        return {"reply": await final_text(agent, state["request"])}

    graph = StateGraph("refunds")
    graph.add_node("agent", agent_node).add_edge(START, "agent").add_edge("agent", END)
    return graph


def two_refunds_then_summary(messages: Any, info: Any) -> Any:
    results = [m for m in messages if m.role == "tool"]
    if not results:
        return [
            tool_call("refund", order_id="A", amount=500),
            tool_call("refund", order_id="B", amount=300),
        ]
    return "; ".join(m.content for m in results)


async def test_two_approvals_answered_one_at_a_time_run_each_tool_exactly_once() -> None:
    refunds: list[tuple[str, int]] = []
    model = MockModel(function=two_refunds_then_summary)
    graph = refund_graph(model, refunds)
    paused = await graph.execute({"request": "refund A and B"})
    assert [i.interrupt.payload["type"] for i in paused.interrupts] == ["tool_approval"] * 2
    first, second = paused.interrupts
    assert first.interrupt.payload["tool"] == "refund"
    assert first.interrupt.payload["arguments"] == {"order_id": "A", "amount": 500}
    assert first.interrupt.payload["call_id"]
    assert first.interrupt.response_schema is not None

    half = await graph.execute(
        Command(update=paused.final_state, resume_by_id={first.interrupt.id: "approve"})
    )
    assert [i.interrupt.id for i in half.interrupts] == [second.interrupt.id]
    assert refunds == []  # a turn's tools wait until every approval of the turn is in

    done = await graph.execute(
        Command(update=half.final_state, resume_by_id={second.interrupt.id: True})
    )
    assert sorted(refunds) == [("A", 500), ("B", 300)]
    assert done.final_state["reply"] == "refunded 500 on A; refunded 300 on B"
    assert len(model.requests) == 2


async def test_rejection_message_reaches_the_model_and_edits_change_arguments() -> None:
    refunds: list[tuple[str, int]] = []
    model = MockModel(function=two_refunds_then_summary)
    graph = refund_graph(model, refunds)
    paused = await graph.execute({"request": "refund A and B"})
    a, b = (i.interrupt.id for i in paused.interrupts)
    done = await graph.execute(
        Command(
            update=paused.final_state,
            resume_by_id={
                a: {"approved": False, "message": "A was already refunded"},
                b: {"approved": True, "arguments": {"order_id": "B", "amount": 150}},
            },
        )
    )
    assert refunds == [("B", 150)]
    assert done.final_state["reply"] == "A was already refunded; refunded 150 on B"


async def test_calls_under_the_threshold_need_no_approval() -> None:
    refunds: list[tuple[str, int]] = []
    model = MockModel(script=[tool_call("refund", order_id="C", amount=20), "done"])
    result = await refund_graph(model, refunds).execute({"request": "small refund"})
    assert not result.is_interrupted
    assert refunds == [("C", 20)]
    model.assert_script_consumed()


async def test_approved_tool_runs_once_when_the_node_pauses_again_later() -> None:
    refunds: list[tuple[str, int]] = []

    def refund_then_ask(messages: Any, info: Any) -> Any:
        if not any(m.role == "tool" for m in messages):
            return tool_call("refund", order_id="D", amount=900)
        return "refund issued"

    model = MockModel(function=refund_then_ask)
    inner = refund_graph(model, refunds)
    graph = StateGraph("refund-then-confirm")
    agent_node = inner._nodes["agent"].fn

    async def node(state: dict[str, Any]) -> dict[str, Any]:
        update = await agent_node(state)
        return {**update, "confirmed": interrupt("tell the customer?")}

    graph.add_node("n", node).add_edge(START, "n").add_edge("n", END)
    paused = await graph.execute({"request": "refund D"})
    approved = await graph.execute(Command(update=paused.final_state, resume="approve"))
    assert approved.interrupt is not None
    assert approved.interrupt.interrupt.payload == "tell the customer?"
    done = await graph.execute(Command(update=approved.final_state, resume=True))
    assert refunds == [("D", 900)]
    assert done.final_state == {"request": "refund D", "reply": "refund issued", "confirmed": True}
    assert len(model.requests) == 2


async def test_approval_outside_a_graph_node_stops_the_run_without_running_the_tool() -> None:
    refunds: list[tuple[str, int]] = []

    @tool(requires_approval=True)
    def wipe(target: str) -> str:
        """Delete everything.

        Args:
            target: What to delete.
        """
        refunds.append((target, 0))
        return "wiped"

    agent = Agent(model=MockModel(script=[tool_call("wipe", target="db")]), tools=[wipe])
    result = await agent.arun("wipe it")
    assert result.stop_reason == "paused"
    assert [p.tool for p in result.pending_approvals] == ["wipe"]
    assert refunds == []


async def test_an_unreadable_approval_answer_leaves_the_pause_answerable() -> None:
    from locus.errors import InvalidResumeValueError

    refunds: list[tuple[str, int]] = []
    model = MockModel(function=two_refunds_then_summary)
    graph = refund_graph(model, refunds)
    paused = await graph.execute({"request": "refund A and B"})
    a, b = (i.interrupt.id for i in paused.interrupts)
    with pytest.raises(InvalidResumeValueError, match="'agent'"):
        await graph.execute(
            Command(update=paused.final_state, resume_by_id={a: "maybe", b: "approve"})
        )
    done = await graph.execute(
        Command(update=paused.final_state, resume_by_id={a: "approve", b: "approve"})
    )
    assert sorted(refunds) == [("A", 500), ("B", 300)]
    assert not done.is_interrupted
