"""The default mock ("mock", no script) demonstrates the README's approval example."""

from __future__ import annotations

from typing import Any

from locus.agent import Agent, AgentConfig
from locus.core import Command
from locus.multiagent import END, START, StateGraph
from locus.tools import tool

LEDGER: list[tuple[str, int]] = []


@tool(requires_approval=lambda args: args["amount"] > 100)
def issue_refund(order_id: str, amount: int) -> str:
    """Refund an order.

    Args:
        order_id: The order to refund.
        amount: Dollars to refund.
    """
    LEDGER.append((order_id, amount))
    return f"refunded {amount}"


agent = Agent(config=AgentConfig(agent_id="refunds", model="mock", tools=[issue_refund]))


async def refunds(state: dict[str, Any]) -> dict[str, Any]:
    return {"reply": (await agent.arun(state["request"])).text}


graph = StateGraph("refunds")
graph.add_node("refunds", refunds).add_edge(START, "refunds").add_edge("refunds", END)


async def test_readme_refund_on_the_default_mock_asks_for_approval() -> None:
    LEDGER.clear()

    paused = await graph.execute({"request": "Refund order 42 for $150"})

    assert paused.interrupt is not None
    payload = paused.interrupt.interrupt.payload
    assert payload["type"] == "tool_approval"
    assert (payload["tool"], payload["arguments"]) == (
        "issue_refund",
        {"order_id": "42", "amount": 150},
    )
    assert LEDGER == []

    done = await graph.execute(Command(update=paused.final_state, resume="approve"))

    assert LEDGER == [("42", 150)]
    assert "issue_refund -> refunded 150" in done.final_state["reply"]


async def test_a_small_refund_on_the_default_mock_runs_without_asking() -> None:
    LEDGER.clear()

    done = await graph.execute({"request": "Refund order 7 for $30"})

    assert not done.is_interrupted
    assert LEDGER == [("7", 30)]
