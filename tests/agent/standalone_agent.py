"""The agent of the standalone-approval tests, built the same way in every process.

Its tools append what they did to the file named by ``$LOCUS_TOOL_LOG``, so a test can
see which tool ran, how often, and in which process. Run as a script, it resumes a saved
state (argv: state file, approvals as JSON) with a model that has only a final answer
scripted, and prints the result as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from locus.agent import Agent
from locus.models import MockModel
from locus.tools import tool


def _log(entry: str) -> None:
    with open(os.environ["LOCUS_TOOL_LOG"], "a", encoding="utf-8") as file:
        file.write(f"{entry} pid={os.getpid()}\n")


@tool
def lookup_order(order_id: str) -> str:
    """Look an order up.

    Args:
        order_id: The order.
    """
    _log(f"lookup_order {order_id}")
    return f"order {order_id}: delivered"


@tool(requires_approval=True)
def issue_refund(order_id: str, amount: int) -> str:
    """Refund an order.

    Args:
        order_id: The order.
        amount: Dollars.
    """
    _log(f"issue_refund {order_id} {amount}")
    return f"refunded ${amount} on {order_id}"


@tool(requires_approval=lambda args: args["all_orders"])
def close_account(customer: str, all_orders: bool) -> str:
    """Close a customer's account.

    Args:
        customer: The customer.
        all_orders: Also cancel open orders.
    """
    _log(f"close_account {customer}")
    return f"closed {customer}"


def make_agent(model: MockModel) -> Agent:
    return Agent(
        agent_id="desk",
        model=model,
        system_prompt="You help customers.",
        tools=[lookup_order, issue_refund, close_account],
    )


async def _resume(state_json: str, approvals: dict[str, Any]) -> dict[str, Any]:
    model = MockModel("resume", script=["All done."])
    result = await make_agent(model).resume(state_json, approvals=approvals)
    model.assert_script_consumed()
    first = model.requests[0].messages
    return {
        "text": result.text,
        "stop_reason": result.stop_reason,
        "model_calls": len(model.requests),
        "tool_results_sent": [m.content for m in first if m.role == "tool"],
        "iterations": result.iterations,
    }


if __name__ == "__main__":
    saved = Path(sys.argv[1]).read_text(encoding="utf-8")
    print(json.dumps(asyncio.run(_resume(saved, json.loads(sys.argv[2])))))
