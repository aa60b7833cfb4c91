"""Tools from MCP servers, offered to agents like local tools (needs ``locus[mcp]``).

::

    from locus.mcp import MCPServer

    files = MCPServer.stdio("python", ["notes_server.py"])
    agent = Agent(model="mock", mcp_servers=[files])

Each run of the agent starts (or connects to) its servers, lists their tools, offers them
to the model with the schemas the servers give, and closes the connections when the run
ends. A tool that is not marked read-only needs a person's approval before it runs (see
``MCPServer``); inside a graph node, results are journaled and replayed like local tools.
Importing this package does not import the ``mcp`` SDK: connecting does.
"""

from locus.mcp.server import MCPApprovalRule, MCPServer
from locus.mcp.tools import MCPTool

__all__ = ["MCPApprovalRule", "MCPServer", "MCPTool"]
