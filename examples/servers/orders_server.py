"""A tiny MCP server for example 10: an order desk with one read-only and one destructive tool.

Written with the official ``mcp`` SDK (``pip install 'locus[mcp]'``). Example 10 starts it
as a subprocess over stdio; run it yourself with ``python examples/servers/orders_server.py``
to use it from any MCP client. ``$ORDERS_LOG``, when set, names a file where each
cancellation is recorded (so the example can show it happened exactly once).
"""

from __future__ import annotations

import os

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

ORDERS = {
    "A-100": {"item": "espresso machine", "status": "shipped"},
    "A-101": {"item": "milk frother", "status": "processing"},
}

server = MCPServer("order-desk")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def find_order(order_id: str) -> dict[str, str]:
    """Look up an order's item and status.

    Args:
        order_id: The order id, like A-100.
    """
    if order_id not in ORDERS:
        raise ToolError(f"no order {order_id}")
    return ORDERS[order_id]


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
def cancel_order(order_id: str) -> str:
    """Cancel an order that has not shipped yet.

    Args:
        order_id: The order id, like A-101.
    """
    order = ORDERS.get(order_id)
    if order is None or order["status"] == "shipped":
        raise ToolError(f"order {order_id} cannot be cancelled")
    order["status"] = "cancelled"
    log = os.environ.get("ORDERS_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as file:
            file.write(f"cancelled {order_id}\n")
    return f"order {order_id} cancelled"


if __name__ == "__main__":
    server.run()
