"""A one-node graph whose agent refunds orders; refunds over $100 wait for approval.

Shared by the tool-call identity tests (on the mock) and their provider-shaped versions
(tests/providers/test_duplicate_call_ids.py): ``ledger`` records every refund that ran.
"""

from __future__ import annotations

from typing import Any

from locus.agent import Agent, AgentConfig
from locus.models import Model
from locus.multiagent import END, START, StateGraph
from locus.tools import tool


def refund_graph(model: Model, ledger: list[int]) -> StateGraph:
    @tool(requires_approval=lambda args: args["amount"] > 100)
    def issue_refund(order_id: str, amount: int) -> str:
        """Refund an order.

        Args:
            order_id: The order to refund.
            amount: Dollars to refund.
        """
        ledger.append(amount)
        return f"refunded {amount}"

    async def refunds(state: dict[str, Any]) -> dict[str, Any]:
        agent = Agent(config=AgentConfig(agent_id="refunds", model=model, tools=[issue_refund]))
        return {"reply": (await agent.arun(state["request"])).text}

    graph = StateGraph("refunds")
    graph.add_node("refunds", refunds).add_edge(START, "refunds").add_edge("refunds", END)
    return graph
