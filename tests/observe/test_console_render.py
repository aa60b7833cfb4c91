"""The console renderer: steps, nodes, agent output under its node, pauses with the question."""

from __future__ import annotations

import io
from typing import Any

from locus.agent import Agent, AgentConfig
from locus.console import render
from locus.core import Command, interrupt
from locus.core.messages import ToolCall
from locus.models import MockModel
from locus.multiagent import END, START, StateGraph
from locus.tools import tool


@tool
def lookup(order_id: int) -> str:
    """Look an order up.

    Args:
        order_id: The order.
    """
    return "espresso machine, lost"


def graph() -> StateGraph:
    model = MockModel(
        "desk",
        script=[[ToolCall(id="c1", name="lookup", arguments={"order_id": 42})], "Refund it."],
    )
    agent = Agent(config=AgentConfig(agent_id="refund", model=model, tools=[lookup]))

    async def draft(state: dict[str, Any]) -> dict[str, Any]:
        return {"draft": (await agent.arun("order 42")).text}

    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        return {"ok": interrupt({"question": "Send this reply?", "options": ["yes", "no"]})}

    g = StateGraph("desk").add_node("draft", draft).add_node("approve", approve)
    g.add_edge(START, "draft").add_edge("draft", "approve").add_edge("approve", END)
    return g


async def test_plain_output_shows_steps_nodes_agent_work_and_the_question() -> None:
    out = io.StringIO()
    g = graph()

    last = await render(g.stream({}), out)
    await render(g.stream(Command(update=last.final_state, resume="yes")), out)

    lines = out.getvalue().splitlines()
    assert "\033[" not in out.getvalue()
    assert lines[:2] == ["step 0", "  ● draft"]
    assert '      ⚙ lookup({"order_id": 42})' in lines
    assert "      ← espresso machine, lost" in lines
    assert "      refund ▸ Refund it." in lines
    assert any(line.startswith("  ✓ draft ") and "[draft]" in line for line in lines)
    assert "  ‖ paused at approve: Send this reply?" in lines
    assert "      options: yes / no" in lines
    assert any(line.startswith("■ paused") for line in lines)
    assert any(line.startswith("■ finished") for line in lines)
    assert last.is_interrupted


async def test_on_a_terminal_text_streams_in_colour() -> None:
    out = io.StringIO()

    await render(graph().stream({}), out, color=True)

    text = out.getvalue()
    assert "\033[1;33m‖ paused at approve: Send this reply?\033[0m" in text
    assert "refund ▸" in text
