"""Typed, JSON-serializable events streamed by graphs and agents.

Every event has a ``type`` string naming its kind, so a stream can be logged as JSON
lines (``event.model_dump_json()``) and read back with ``parse_event``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from locus.core.messages import Message, ToolCall, Usage

__all__ = [
    "AgentEvent",
    "AnyEvent",
    "CustomEvent",
    "Event",
    "GraphEvent",
    "GraphFinishedEvent",
    "GraphInterruptedEvent",
    "ModelRequestEvent",
    "ModelResponseEvent",
    "NodeFinishedEvent",
    "NodeStartedEvent",
    "StopReason",
    "TerminateEvent",
    "TextDeltaEvent",
    "ToolCallEvent",
    "ToolResultEvent",
    "parse_event",
]


class Event(BaseModel):
    """Base of every event."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    type: str


# --- graph events -------------------------------------------------------------------------


class NodeStartedEvent(Event):
    """A node began running in ``step``."""

    type: Literal["node_started"] = "node_started"
    node: str
    step: int


class NodeFinishedEvent(Event):
    """A node returned; ``update`` is what it wrote to the state, ``elapsed_ms`` its run time."""

    type: Literal["node_finished"] = "node_finished"
    node: str
    step: int
    update: dict[str, Any]
    goto: list[str] = []
    elapsed_ms: float | None = None


class GraphInterruptedEvent(Event):
    """The graph paused; one entry per pending interrupt (``id``, ``node``, ``payload``)."""

    type: Literal["graph_interrupted"] = "graph_interrupted"
    interrupts: list[dict[str, Any]]


class GraphFinishedEvent(Event):
    """Last event of a graph stream: the state (a resumable snapshot when paused)."""

    type: Literal["graph_finished"] = "graph_finished"
    final_state: dict[str, Any]
    path: list[str]
    is_interrupted: bool


class CustomEvent(Event):
    """Something a node sent with ``emit()`` that is not itself an ``Event``."""

    type: Literal["custom"] = "custom"
    node: str
    data: Any


# --- agent events -------------------------------------------------------------------------
#
# An agent run streams, per iteration: ModelRequestEvent, TextDeltaEvent*, ModelResponseEvent,
# then for each tool the model asked for a ToolCallEvent and (in the same order) a
# ToolResultEvent; the run ends with exactly one TerminateEvent. ``iteration`` counts model
# calls from 1.

StopReason = Literal["complete", "refusal", "max_iterations", "error", "paused"]


class ModelRequestEvent(Event):
    """The agent is about to call its model with ``messages`` and the named tools."""

    type: Literal["model_request"] = "model_request"
    agent_id: str
    iteration: int
    model: str
    messages: tuple[Message, ...]
    tools: tuple[str, ...] = ()


class TextDeltaEvent(Event):
    """A piece of the model's answer, as it streams in."""

    type: Literal["text_delta"] = "text_delta"
    agent_id: str
    iteration: int
    text: str


class ModelResponseEvent(Event):
    """The model's complete turn (text and tool calls) and the tokens it used.

    ``refusal`` is the model's explanation when it declined to answer; ``reasoning`` the
    reasoning it showed before answering. Neither is part of ``message.content``.
    """

    type: Literal["model_response"] = "model_response"
    agent_id: str
    iteration: int
    message: Message
    usage: Usage
    finish_reason: str = "stop"
    model: str = ""
    refusal: str | None = None
    reasoning: str | None = None


class ToolCallEvent(Event):
    """The agent is running one tool the model asked for."""

    type: Literal["tool_call"] = "tool_call"
    agent_id: str
    iteration: int
    tool_call: ToolCall


class ToolResultEvent(Event):
    """A tool's result as sent back to the model; ``is_error`` when it failed.

    A tool fails when it raises, when its arguments fail its schema, or when the model
    named a tool the agent does not have; ``content`` then says which.
    """

    type: Literal["tool_result"] = "tool_result"
    agent_id: str
    iteration: int
    tool_call_id: str
    tool_name: str
    content: str
    is_error: bool = False


class TerminateEvent(Event):
    """Last event of every agent run.

    Attributes:
        final_message: the model's last answer text, or ``None`` when the run produced none
            (it failed, the model refused, or it stopped at ``max_iterations`` right
            after tool calls).
        stop_reason: ``"complete"`` (the model answered without tool calls),
            ``"refusal"`` (the model declined to answer; ``refusal`` says why),
            ``"max_iterations"``, ``"error"`` (``error`` says what failed) or ``"paused"``
            (outside a graph, tools need approval: see ``pending_approvals`` and ``state``).
        usage: tokens used by every model call of the run.
        iterations: how many times the model was called.
        refusal: the model's explanation when it declined to answer.
        output: the validated final answer, for an agent with an ``output_type`` (an
            instance of that type); ``None`` otherwise or when the run did not complete.
        pending_approvals: when paused, the ``PendingApproval``s (``locus.agent.pause``).
        state: when paused, the ``AgentRunState`` to pass to ``agent.resume``.
    """

    type: Literal["terminate"] = "terminate"
    agent_id: str
    final_message: str | None
    stop_reason: StopReason
    usage: Usage
    iterations: int
    error: str | None = None
    refusal: str | None = None
    output: Any = None
    pending_approvals: tuple[Any, ...] = ()
    state: Any = None


AgentEvent = (
    ModelRequestEvent
    | TextDeltaEvent
    | ModelResponseEvent
    | ToolCallEvent
    | ToolResultEvent
    | TerminateEvent
)

GraphEvent = (
    NodeStartedEvent | NodeFinishedEvent | GraphInterruptedEvent | GraphFinishedEvent | CustomEvent
)

AnyEvent = Annotated[AgentEvent | GraphEvent, Field(discriminator="type")]


@lru_cache(maxsize=1)
def _event_adapter() -> TypeAdapter[Any]:
    return TypeAdapter(AnyEvent)


def parse_event(data: str | bytes | dict[str, Any]) -> Event:
    """Read back one event written with ``event.model_dump_json()`` (or ``model_dump()``).

    Raises:
        pydantic.ValidationError: when ``data`` is not an event of a known ``type``.
    """
    adapter = _event_adapter()
    if isinstance(data, dict):
        event: Event = adapter.validate_python(data)
    else:
        event = adapter.validate_json(data)
    return event
