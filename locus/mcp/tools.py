"""``MCPTool``: one tool of an MCP server, as a locus ``Tool``; results mapped to text."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from locus.errors import MCPError
from locus.models.base import ToolSpec
from locus.tools import Tool

if TYPE_CHECKING:
    from locus.mcp.server import MCPServer

__all__ = ["MCPTool", "ToolCaller", "local_name", "render_result"]

#: Sends one ``tools/call`` to the server: (tool name, arguments) -> the SDK's result.
ToolCaller = Callable[[str, dict[str, Any]], Awaitable[Any]]

_NOT_NAME = re.compile(r"[^A-Za-z0-9_-]")


def local_name(server: MCPServer, remote: str) -> str:
    """The name the model sees: the server's prefix and name, in the characters models
    accept for tool names (others become ``_``), at most 64 long."""
    return _NOT_NAME.sub("_", f"{server.prefix}{remote}")[:64] or "tool"


class MCPTool(Tool):
    """A tool of a connected MCP server, offered to the model like a local tool.

    Its schema is the server's ``inputSchema``; the server validates the arguments. A call
    returns the result's text (structured content as JSON when there is no text) and
    raises ``MCPError`` when the server reports the call failed, which the agent passes to
    the model as the tool's error.

    Attributes:
        server: the server description it came from.
        remote_name: the tool's name on the server (``name`` is what the model sees).
        annotations: the server's hints (``readOnlyHint``, ``destructiveHint``, ...).
    """

    __slots__ = ("_caller", "annotations", "remote_name", "server")

    server: MCPServer
    remote_name: str
    annotations: Mapping[str, Any]
    _caller: ToolCaller

    def __init__(
        self,
        server: MCPServer,
        *,
        remote_name: str,
        description: str,
        input_schema: dict[str, Any],
        annotations: Mapping[str, Any],
        caller: ToolCaller,
    ) -> None:
        name = local_name(server, remote_name)
        parameters = dict(input_schema) if input_schema else {}
        parameters.setdefault("type", "object")
        parameters.setdefault("properties", {})
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "description", description)
        set_(self, "parameters", parameters)
        set_(self, "is_async", True)
        set_(self, "run_in_thread", False)
        set_(self, "server", server)
        set_(self, "remote_name", remote_name)
        set_(self, "annotations", dict(annotations))
        set_(self, "_caller", caller)
        set_(self, "_args_model", None)
        set_(self, "_positional", ())
        set_(self, "function", self._invoke)
        set_(self, "spec", ToolSpec(name=name, description=description, parameters=parameters))
        set_(self, "requires_approval", server.approval_for(self))

    def __repr__(self) -> str:
        return f"MCPTool(name={self.name!r}, server={self.server.name!r})"

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments as sent; the server checks them against its schema."""
        return dict(arguments)

    async def call(self, arguments: Mapping[str, Any]) -> Any:
        """Call the tool on its server and return the result as text.

        Raises:
            MCPError: the server reported the call failed, or could not be reached.
        """
        return await self._invoke(**arguments)

    async def _invoke(self, **arguments: Any) -> str:
        where = f"MCP server {self.server.name!r}: tool {self.remote_name!r}"
        try:
            result = await self._caller(self.remote_name, arguments)
        except MCPError:
            raise
        except Exception as exc:
            raise MCPError(f"{where} could not be called: {type(exc).__name__}: {exc}") from exc
        text = render_result(result)
        if getattr(result, "is_error", False):
            raise MCPError(f"{where} failed: {text or 'no message'}")
        return text


def render_result(result: Any) -> str:
    """A ``CallToolResult`` as text for the model: its text blocks, descriptions of media
    and resources, or the structured content as JSON when there is no text."""
    parts: list[str] = []
    for block in getattr(result, "content", None) or ():
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} {block.mime_type}, {len(block.data)} base64 characters]")
        elif kind == "resource":
            resource = block.resource
            text = getattr(resource, "text", None)
            parts.append(text if text is not None else f"[binary resource {resource.uri}]")
        elif kind == "resource_link":
            parts.append(f"[resource {block.uri}]")
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        return json.dumps(structured, ensure_ascii=False, default=str)
    return "\n".join(parts)
