"""``AgentConfig``: everything that defines an agent, validated once, immutable."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from locus.agent.output import output_schema
from locus.errors import ConfigurationError, ToolDefinitionError
from locus.mcp.server import MCPServer
from locus.models.base import Model
from locus.tools import Tool, as_tool

__all__ = ["AgentConfig"]


class AgentConfig(BaseModel):
    """What an agent is: its model, instructions, tools and limits. Frozen.

    Attributes:
        agent_id: names the agent in events and error messages.
        model: a ``Model`` or a model string (``"mock"``, ``"openai:gpt-4.1"``, ...).
        system_prompt: the instructions sent first, if any.
        description: what the agent is for (for people and for routing agents).
        tools: ``Tool``s, or plain functions (made tools with ``@tool`` rules).
        max_iterations: most model calls in one run (at least 1).
        max_tokens: most tokens per model answer; ``None`` for the provider's default.
        temperature: sampling temperature, 0 to 2; ``None`` for the provider's default.
        timeout: seconds per model request; ``None`` for the provider's default.
        parallel_tool_calls: run the tools of one model turn concurrently (else in order).
        model_settings: provider-specific settings sent as ``ModelSettings.extra``.
        journal: inside a graph node, record model calls and tool results so that a node
            re-run on resume replays them instead of calling the model or tools again.
        output_type: when set, the final answer must be JSON of this type (a pydantic
            model, dataclass, ``TypedDict``, ``Literal``, ``Enum`` or plain type); the
            provider is asked for it as structured output and ``AgentResult.output`` holds
            the validated value (see ``locus.agent.output``).
        output_retries: how many more times the model is asked, with the validation error,
            when its final answer does not match ``output_type``.
        mcp_servers: ``locus.mcp.MCPServer``s whose tools the agent may use; each run
            connects to them at its start and closes the connections at its end.
    """

    # protected_namespaces=(): "model" and "model_settings" are our fields, not pydantic's.
    model_config = ConfigDict(
        frozen=True, extra="forbid", arbitrary_types_allowed=True, protected_namespaces=()
    )

    agent_id: str = Field("agent", min_length=1)
    model: str | Model
    system_prompt: str | None = None
    description: str = ""
    tools: tuple[Tool, ...] = ()
    max_iterations: int = Field(10, ge=1, strict=True)
    max_tokens: int | None = Field(None, ge=1, strict=True)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    timeout: float | None = Field(None, gt=0.0)
    parallel_tool_calls: bool = True
    model_settings: dict[str, Any] = Field(default_factory=dict)
    journal: bool = True
    output_type: Any = None
    output_retries: int = Field(1, ge=0, strict=True)
    mcp_servers: tuple[MCPServer, ...] = ()

    def __init__(self, **data: Any) -> None:
        """Validate the settings.

        Raises:
            ConfigurationError: naming the agent and each field at fault (for example
                ``max_iterations`` below 1, an unknown field, a model that is neither a
                ``Model`` nor a string).
            ToolDefinitionError: when a tool cannot be made from a function, or two tools
                share a name.
        """
        try:
            super().__init__(**data)
        except ValidationError as exc:
            agent_id = data.get("agent_id", "agent")
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(config)'}: {err['msg']}"
                f" (got {_short(err.get('input'))})"
                for err in exc.errors(include_url=False)
            )
            raise ConfigurationError(
                f"invalid AgentConfig for agent {agent_id!r}: {problems}"
            ) from None

    @field_validator("model", mode="before")
    @classmethod
    def _model_is_named(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("a model string cannot be empty; use e.g. 'mock' or 'openai:gpt-4.1'")
        return value

    @field_validator("output_type")
    @classmethod
    def _output_has_schema(cls, value: Any) -> Any:
        if value is not None:
            try:
                output_schema(value)
            except TypeError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("mcp_servers", mode="before")
    @classmethod
    def _servers(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, MCPServer) or not isinstance(value, list | tuple):
            raise ValueError("mcp_servers must be a list of MCPServer.stdio(...)/http(...)")
        for item in value:
            if not isinstance(item, MCPServer):
                raise ValueError(
                    f"mcp_servers items must be MCPServer (from locus.mcp), got {item!r:.60}"
                )
        return tuple(value)

    @field_validator("tools", mode="before")
    @classmethod
    def _make_tools(cls, value: Any, info: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, Tool) or callable(value) or isinstance(value, str | bytes):
            raise ValueError("tools must be a list of tools or functions, not a single one")
        tools = tuple(as_tool(item) for item in value)
        seen: set[str] = set()
        for item in tools:
            if item.name in seen:
                agent_id = info.data.get("agent_id", "agent")
                raise ToolDefinitionError(
                    f"agent {agent_id!r} has two tools named {item.name!r}; tool names must "
                    "be unique (pass name= to @tool)"
                )
            seen.add(item.name)
        return tools


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
