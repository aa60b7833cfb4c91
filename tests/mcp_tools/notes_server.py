"""A small MCP server for the tests, written with the ``mcp`` SDK's server side.

Run as ``python notes_server.py`` (stdio) or ``python notes_server.py --http PORT``.
Every tool call and the server's start are appended as JSON lines to ``$NOTES_LOG``, so a
test can see what ran, how often, and in which process.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

NOTES = {"todo": "buy milk", "ideas": "a robot that waters plants"}
server = MCPServer("notes")


def log(event: dict[str, Any]) -> None:
    path = os.environ.get("NOTES_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps({**event, "pid": os.getpid()}) + "\n")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def read_note(name: str) -> str:
    """Read one note.

    Args:
        name: The note's name.
    """
    log({"tool": "read_note", "name": name})
    return NOTES.get(name, f"no note named {name}")


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
def delete_note(name: str) -> str:
    """Delete a note for good."""
    log({"tool": "delete_note", "name": name})
    NOTES.pop(name, None)
    return f"deleted {name}"


@server.tool()
def append_note(name: str, text: str) -> str:
    """Append text to a note (no annotations: MCP's defaults say it may be destructive)."""
    log({"tool": "append_note", "name": name, "text": text})
    NOTES[name] = NOTES.get(name, "") + text
    return NOTES[name]


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def broken(name: str) -> str:
    """Always fails."""
    log({"tool": "broken", "name": name})
    raise ToolError(f"the disk holding {name} is on fire")


if __name__ == "__main__":
    log({"event": "start", "transport": "http" if "--http" in sys.argv else "stdio"})
    if "--http" in sys.argv:
        port = int(sys.argv[sys.argv.index("--http") + 1])
        server.run("streamable-http", host="127.0.0.1", port=port)
    else:
        server.run()
