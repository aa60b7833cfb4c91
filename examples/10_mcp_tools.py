"""10 — MCP tools: an agent uses a local MCP server, and its destructive tool waits for a person.

``MCPServer.stdio(command, args)`` (or ``MCPServer.http(url)``) in ``AgentConfig(mcp_servers=...)``
gives an agent the tools of an MCP server: their schemas come from the server, each run
starts the server (or connects to it) and closes it at the end. Approvals follow the
server's own annotations: a tool not marked ``readOnlyHint`` (or marked
``destructiveHint``) needs a person's approval before it runs; ``requires_approval=`` on
the server overrides that with True, False, tool names or a predicate.

Sections:
0. The MCP server: an order desk written with the ``mcp`` SDK (this file, run with --serve)
1. The server's tools, as the agent sees them
2. A read-only lookup runs; the cancellation pauses; a person approves; it runs once
3. Rejected: the model reads the reviewer's message instead of a result
4. Outside a graph: the run stops with its pending approval and a JSON state to resume

Needs the mcp SDK: pip install 'locus[mcp]'. Runs offline with the mock model.
Run: python examples/10_mcp_tools.py
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from locus.agent import Agent
from locus.core import Command
from locus.mcp import MCPServer
from locus.models import MockModel
from locus.models.mock import tool_call
from locus.multiagent import END, START, StateGraph

# %% 0. The MCP server ----------------------------------------------------------------------


def serve() -> None:
    """An order desk with one read-only and one destructive tool, over stdio.

    Each cancellation is also written to ``$ORDERS_LOG``, so the example can show that an
    approved cancellation ran exactly once.
    """
    from mcp.server.mcpserver import MCPServer as SDKServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    orders = {
        "A-100": {"item": "espresso machine", "status": "shipped"},
        "A-101": {"item": "milk frother", "status": "processing"},
    }
    server = SDKServer("order-desk")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def find_order(order_id: str) -> dict[str, str]:
        """Look up an order's item and status.

        Args:
            order_id: The order id, like A-100.
        """
        if order_id not in orders:
            raise ToolError(f"no order {order_id}")
        return orders[order_id]

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
    def cancel_order(order_id: str) -> str:
        """Cancel an order that has not shipped yet.

        Args:
            order_id: The order id, like A-101.
        """
        order = orders.get(order_id)
        if order is None or order["status"] == "shipped":
            raise ToolError(f"order {order_id} cannot be cancelled")
        order["status"] = "cancelled"
        with open(os.environ["ORDERS_LOG"], "a", encoding="utf-8") as log:
            log.write(f"cancelled {order_id}\n")
        return f"order {order_id} cancelled"

    server.run()


CANCELLED_LOG = Path(tempfile.mkdtemp()) / "cancelled.log"
ORDER_DESK = MCPServer.stdio(
    sys.executable,
    [__file__, "--serve"],
    env={"ORDERS_LOG": str(CANCELLED_LOG)},
    name="order-desk",
)


def support_model(messages: Any, info: Any) -> Any:
    """An offline stand-in for an LLM: looks the order up, cancels it if asked, sums up."""
    request = next(m.content for m in reversed(messages) if m.role == "user")
    order_id = re.search(r"[A-Z]-\d+", request)
    results = [m for m in messages if m.role == "tool"]
    if order_id and not results:
        return tool_call("find_order", order_id=order_id[0])
    if order_id and "cancel" in request.lower() and len(results) == 1:
        return tool_call("cancel_order", order_id=order_id[0])
    return "Summary: " + " | ".join(" ".join(m.content.split()) for m in results)


AGENT = Agent(
    agent_id="order-agent",
    model=MockModel("orders", function=support_model),
    system_prompt="You help customers with their orders, using the order desk's tools.",
    mcp_servers=[ORDER_DESK],
)


# %% 1. The server's tools ------------------------------------------------------------------


async def section_1() -> None:
    print("== 1. The order desk's tools")
    for tool in await ORDER_DESK.list_tools():
        needs = tool.needs_approval({"order_id": "A-101"})
        print(f"{tool.name:<13} {json.dumps(tool.annotations):<50} approval: {needs}")
    print()


# %% 2. Approve a cancellation --------------------------------------------------------------


async def agent_node(state: dict[str, Any]) -> dict[str, Any]:
    result = await AGENT.arun(state["request"])
    return {"reply": result.text}


def desk_graph() -> StateGraph:
    graph = StateGraph("order-desk")
    graph.add_node("agent", agent_node)
    graph.add_edge(START, "agent").add_edge("agent", END)
    return graph


async def section_2() -> None:
    print("== 2. Cancel order A-101")
    paused = await desk_graph().execute({"request": "Please cancel order A-101."})
    assert paused.interrupt is not None
    payload = paused.interrupt.interrupt.payload
    print(f"paused: {payload['tool']}({payload['arguments']}) needs approval")
    stored = json.loads(json.dumps(paused.final_state))  # the pause is plain JSON
    done = await desk_graph().execute(Command(update=stored, resume="approve"))
    print("reply:", done.final_state["reply"])
    print("cancellations on the server:", CANCELLED_LOG.read_text().splitlines())
    print()


# %% 3. Reject it ---------------------------------------------------------------------------


async def section_3() -> None:
    print("== 3. A rejected cancellation")
    paused = await desk_graph().execute({"request": "Cancel order A-100 now."})
    assert paused.interrupt is not None
    no = {"approved": False, "message": "A-100 has shipped; offer a return instead."}
    done = await desk_graph().execute(Command(update=paused.final_state, resume=no))
    print("reply:", done.final_state["reply"])
    print("cancellations on the server:", CANCELLED_LOG.read_text().splitlines())


# %% 4. Outside a graph ---------------------------------------------------------------------


async def section_4() -> None:
    print()
    print("== 4. Outside a graph (a chat backend)")
    paused = await AGENT.arun("Please cancel order A-101.")
    [pending] = paused.pending_approvals
    print(f"stopped ({paused.stop_reason}): {pending.tool}({pending.arguments}) waits")
    assert paused.state is not None
    saved = paused.state.to_json()  # store it; resume later, in any process
    done = await AGENT.resume(saved, approvals={pending.call_id: True})
    print("reply:", done.text)
    # every run starts its own server process, so A-101 could be cancelled once more
    print("the server's last log line:", CANCELLED_LOG.read_text().splitlines()[-1])


async def main() -> None:
    await section_1()
    await section_2()
    await section_3()
    await section_4()


if __name__ == "__main__":
    try:
        import mcp  # noqa: F401  (on the base install: say which extra, not a traceback)
    except ModuleNotFoundError:
        raise SystemExit("this example needs the mcp SDK: pip install -e '.[mcp]'") from None
    if "--serve" in sys.argv:
        serve()
    else:
        asyncio.run(main())
