"""Connections to MCP servers for one agent run: opened at its start, closed at its end.

Each connection lives in a task of its own that enters the SDK's client and waits to be
told to close. The SDK's task groups and cancel scopes then stay inside that one task,
whichever task runs the agent's tools or finally closes the run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from locus.errors import MCPError, MissingDependencyError, ToolDefinitionError
from locus.mcp.server import MCPServer
from locus.mcp.tools import MCPTool
from locus.models.base import ToolSpec
from locus.tools import Tool

__all__ = ["MCPConnection", "MCPToolset", "open_toolset"]

_MAX_PAGES = 100
_CLOSE_SECONDS = 10.0


def _client_class() -> Any:
    try:
        from mcp import Client
    except ImportError as exc:
        raise MissingDependencyError(
            "MCP servers need the mcp SDK: pip install 'locus[mcp]'"
        ) from exc
    return Client


class MCPConnection:
    """One open connection to one server, and the tools it listed."""

    def __init__(self, server: MCPServer) -> None:
        self.server = server
        self.tools: tuple[MCPTool, ...] = ()
        self._client: Any = None
        self._ready = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    async def open(self) -> None:
        """Start or reach the server and list its tools.

        Raises:
            MissingDependencyError: the ``mcp`` SDK is not installed.
            MCPError: the server could not be started, reached or listed in time.
        """
        client_class = _client_class()
        self._task = asyncio.create_task(self._hold(client_class), name=f"mcp:{self.server.name}")
        waiter = asyncio.create_task(self._ready.wait())
        try:
            await asyncio.wait(
                {self._task, waiter},
                timeout=self.server.timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            waiter.cancel()
        if self._ready.is_set() and self._error is None:
            return
        await self.close()
        reason = (
            f"{type(self._error).__name__}: {_first_line(self._error)}"
            if self._error is not None
            else f"no answer within {self.server.timeout:g}s"
        )
        raise MCPError(
            f"MCP server {self.server.name!r} ({self._where()}) could not be used: {reason}; "
            "check that it starts and speaks MCP (run the command yourself) or is reachable"
        ) from self._error

    async def close(self) -> None:
        """Close the connection (a stdio server's process ends); never raises."""
        self._closing.set()
        task = self._task
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), _CLOSE_SECONDS)
        except (TimeoutError, Exception):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def call(self, name: str, arguments: dict[str, Any]) -> Any:
        """Send one ``tools/call``; the SDK's result as it is."""
        if self._client is None or self._closing.is_set():
            raise MCPError(f"MCP server {self.server.name!r}: the connection is closed")
        return await self._client.call_tool(name, arguments)

    async def _hold(self, client_class: Any) -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                target = await self._target(stack)
                client = await stack.enter_async_context(
                    client_class(target, read_timeout_seconds=self.server.timeout)
                )
                self._client = client
                self.tools = await self._list_tools(client)
                self._ready.set()
                await self._closing.wait()
        except Exception as exc:
            self._error = exc
        finally:
            self._client = None

    async def _target(self, stack: contextlib.AsyncExitStack) -> Any:
        server = self.server
        if server.transport == "stdio":
            from mcp import StdioServerParameters

            return StdioServerParameters(
                command=server.command,
                args=list(server.args),
                env=dict(server.env) if server.env is not None else None,
                cwd=server.cwd,
            )
        if not server.headers:
            return server.url
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        # A server may hold a response stream open: a long read timeout, as the SDK's own.
        timeout = httpx2.Timeout(server.timeout, read=max(server.timeout, 300.0))
        http = await stack.enter_async_context(
            httpx2.AsyncClient(headers=dict(server.headers), timeout=timeout)
        )
        return streamable_http_client(server.url, http_client=http)

    async def _list_tools(self, client: Any) -> tuple[MCPTool, ...]:
        found: list[MCPTool] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            for listed in page.tools:
                annotations = (
                    listed.annotations.model_dump(by_alias=True, exclude_none=True)
                    if listed.annotations is not None
                    else {}
                )
                found.append(
                    MCPTool(
                        self.server,
                        remote_name=listed.name,
                        description=listed.description or listed.title or listed.name,
                        input_schema=listed.input_schema,
                        annotations=annotations,
                        caller=self.call,
                    )
                )
            cursor = page.next_cursor
            if not cursor:
                break
        return tuple(found)

    def _where(self) -> str:
        server = self.server
        if server.transport == "stdio":
            return f"{server.command} {' '.join(server.args)}".strip()
        return server.url


class MCPToolset:
    """The tools of one run: the agent's own plus those of its open MCP servers."""

    def __init__(
        self,
        tools: Mapping[str, Tool],
        specs: tuple[ToolSpec, ...],
        connections: Sequence[MCPConnection],
    ) -> None:
        self.tools = tools
        self.specs = specs
        self._connections = tuple(connections)

    async def aclose(self) -> None:
        """Close every connection, together; never raises."""
        await asyncio.gather(*(c.close() for c in self._connections))


async def open_toolset(
    agent_id: str, servers: Sequence[MCPServer], local: Mapping[str, Tool]
) -> MCPToolset:
    """Connect to every server (concurrently) and merge their tools after the local ones.

    Raises:
        MCPError: a server could not be used (the others are closed again).
        ToolDefinitionError: two tools would have the same name.
        MissingDependencyError: the ``mcp`` SDK is not installed.
    """
    connections = [MCPConnection(server) for server in servers]
    results = await asyncio.gather(*(c.open() for c in connections), return_exceptions=True)
    failed = next((r for r in results if isinstance(r, BaseException)), None)
    try:
        if failed is not None:
            raise failed
        tools: dict[str, Tool] = dict(local)
        owner = dict.fromkeys(local, "a local tool")
        for connection in connections:
            for tool in connection.tools:
                if tool.name in tools:
                    raise ToolDefinitionError(
                        f"agent {agent_id!r}: MCP server {connection.server.name!r} offers a "
                        f"tool named {tool.name!r}, and so does {owner[tool.name]}; give the "
                        "server a prefix= (MCPServer.stdio(..., prefix='files_'))"
                    )
                tools[tool.name] = tool
                owner[tool.name] = f"MCP server {connection.server.name!r}"
    except BaseException:
        await asyncio.gather(*(c.close() for c in connections))
        raise
    return MCPToolset(tools, tuple(t.spec for t in tools.values()), connections)


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _first_line(exc.exceptions[0])
    return (str(exc) or type(exc).__name__).split("\n", 1)[0]
