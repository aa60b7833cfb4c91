"""``MCPServer``: where an MCP server is, and which of its tools need a person's approval."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from locus.errors import ConfigurationError

if TYPE_CHECKING:
    from locus.mcp.tools import MCPTool

__all__ = ["MCPApprovalRule", "MCPServer", "default_needs_approval"]

#: ``True``/``False`` for every tool, tool names (as the server names them) that need
#: approval, or a predicate over (tool, arguments); ``None`` decides from annotations.
MCPApprovalRule: TypeAlias = (
    bool | Collection[str] | Callable[["MCPTool", dict[str, Any]], bool] | None
)

Transport = Literal["stdio", "http"]


def default_needs_approval(annotations: Mapping[str, Any]) -> bool:
    """MCP's own defaults: only a tool marked read-only (and not destructive) runs freely.

    ``readOnlyHint`` defaults to false and ``destructiveHint`` to true, so a tool without
    annotations needs approval.
    """
    read_only = annotations.get("readOnlyHint") is True
    return not read_only or annotations.get("destructiveHint") is True


class MCPServer:
    """An MCP server whose tools an agent may use: a command to start, or a URL.

    Build one with ``MCPServer.stdio(...)`` or ``MCPServer.http(...)`` and pass it in
    ``AgentConfig(mcp_servers=[...])``. Immutable; one server description serves many
    agents and runs (each run opens its own connection).

    Attributes:
        name: names the server in errors (defaults to the command or URL).
        transport: ``"stdio"`` or ``"http"``.
        command: the program to start (stdio).
        args: its arguments (stdio).
        env: extra environment variables for it (stdio), over a minimal safe environment.
        cwd: its working directory (stdio).
        url: the Streamable HTTP endpoint (http).
        headers: HTTP headers sent with every request (http), e.g. authorization.
        requires_approval: see ``MCPApprovalRule``.
        prefix: put before every tool name (to tell two servers' tools apart).
        timeout: seconds to wait for the server to start and for each tool call.
    """

    __slots__ = (
        "args",
        "command",
        "cwd",
        "env",
        "headers",
        "name",
        "prefix",
        "requires_approval",
        "timeout",
        "transport",
        "url",
    )

    name: str
    transport: Transport
    command: str
    args: tuple[str, ...]
    env: Mapping[str, str] | None
    cwd: str | None
    url: str
    headers: Mapping[str, str] | None
    requires_approval: MCPApprovalRule
    prefix: str
    timeout: float

    def __init__(
        self,
        *,
        transport: Transport,
        name: str | None = None,
        command: str = "",
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        url: str = "",
        headers: Mapping[str, str] | None = None,
        requires_approval: MCPApprovalRule = None,
        prefix: str = "",
        timeout: float = 30.0,
    ) -> None:
        """Prefer ``MCPServer.stdio`` and ``MCPServer.http``.

        Raises:
            ConfigurationError: for an empty command or URL, arguments that are not
                strings, a bad ``requires_approval`` or a non-positive timeout.
        """
        label = name or _default_name(command, args, url)
        if transport == "stdio" and (not isinstance(command, str) or not command.strip()):
            raise ConfigurationError("MCPServer.stdio needs a command, e.g. 'python'")
        if transport == "http" and (
            not isinstance(url, str) or not url.startswith(("http://", "https://"))
        ):
            raise ConfigurationError(
                f"MCPServer.http needs an http:// or https:// URL, got {url!r}"
            )
        if isinstance(args, str) or not all(isinstance(a, str) for a in args):
            raise ConfigurationError(
                f"MCP server {label!r}: args must be a list of strings, got {args!r}"
            )
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise ConfigurationError(
                f"MCP server {label!r}: timeout must be positive seconds, got {timeout!r}"
            )
        _check_rule(label, requires_approval)
        set_ = object.__setattr__
        set_(self, "name", label)
        set_(self, "transport", transport)
        set_(self, "command", command)
        set_(self, "args", tuple(args))
        set_(self, "env", dict(env) if env is not None else None)
        set_(self, "cwd", cwd)
        set_(self, "url", url)
        set_(self, "headers", dict(headers) if headers is not None else None)
        set_(
            self,
            "requires_approval",
            frozenset(requires_approval)
            if requires_approval is not None
            and not isinstance(requires_approval, bool)
            and not callable(requires_approval)
            else requires_approval,
        )
        set_(self, "prefix", prefix)
        set_(self, "timeout", float(timeout))

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        name: str | None = None,
        requires_approval: MCPApprovalRule = None,
        prefix: str = "",
        timeout: float = 30.0,
    ) -> MCPServer:
        """A server started as a subprocess for each run, spoken to over stdin/stdout.

        Raises:
            ConfigurationError: for bad settings (see the class).
        """
        return cls(
            transport="stdio",
            name=name,
            command=command,
            args=args,
            env=env,
            cwd=cwd,
            requires_approval=requires_approval,
            prefix=prefix,
            timeout=timeout,
        )

    @classmethod
    def http(
        cls,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        name: str | None = None,
        requires_approval: MCPApprovalRule = None,
        prefix: str = "",
        timeout: float = 30.0,
    ) -> MCPServer:
        """A running server reached over MCP's Streamable HTTP transport at ``url``.

        Raises:
            ConfigurationError: for bad settings (see the class).
        """
        return cls(
            transport="http",
            name=name,
            url=url,
            headers=headers,
            requires_approval=requires_approval,
            prefix=prefix,
            timeout=timeout,
        )

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"MCPServer {self.name!r} is immutable")

    def __repr__(self) -> str:
        where = f"{self.command} {' '.join(self.args)}".strip() if self.command else self.url
        return f"MCPServer.{self.transport}({where!r}, name={self.name!r})"

    async def list_tools(self) -> tuple[MCPTool, ...]:
        """Connect, list the server's tools and disconnect: for looking before using.

        The tools returned cannot be called (their connection is closed); an agent run
        opens its own.

        Raises:
            MCPError: the server could not be started, reached or listed.
            MissingDependencyError: the ``mcp`` SDK is not installed.
        """
        from locus.mcp.connection import MCPConnection

        connection = MCPConnection(self)
        await connection.open()
        await connection.close()
        return connection.tools

    def approval_for(self, tool: MCPTool) -> bool | Callable[[dict[str, Any]], bool]:
        """The approval rule of one of this server's tools, as ``Tool.requires_approval``."""
        rule = self.requires_approval
        if rule is None:
            return default_needs_approval(tool.annotations)
        if isinstance(rule, bool):
            return rule
        if callable(rule):
            predicate = rule
            return lambda arguments: bool(predicate(tool, arguments))
        return tool.remote_name in rule or tool.name in rule


def _default_name(command: Any, args: Any, url: Any) -> str:
    if url:
        return str(url)
    parts = [str(command), *(str(a) for a in args)] if isinstance(args, list | tuple) else []
    named = [p for p in parts if p and not p.startswith("-")]
    return os.path.basename(named[-1]) if named else str(command or "?")


def _check_rule(label: str, rule: Any) -> None:
    if rule is None or isinstance(rule, bool) or callable(rule):
        return
    if isinstance(rule, str | bytes) or not isinstance(rule, Collection):
        raise ConfigurationError(
            f"MCP server {label!r}: requires_approval must be True, False, a list of tool "
            f"names or a predicate (tool, arguments) -> bool, got {rule!r}"
        )
    if not all(isinstance(item, str) for item in rule):
        raise ConfigurationError(
            f"MCP server {label!r}: requires_approval lists tool names, got {sorted(rule)!r}"
        )
