"""The COHERE chat format (``cohere.*`` models on OCI).

Cohere takes the latest user turn as ``message``, earlier turns as ``chat_history``,
system prompts as ``preamble_override``, and answers to its tool calls as
``tool_results`` (each echoing the call it answers). Its tool calls carry no ids, so
locus gives each one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from oci.generative_ai_inference import models

from locus.core.messages import Message, ToolCall, Usage
from locus.errors import UserError
from locus.models.base import FinishReason, ModelRequest, ModelResponse, TextDelta, ToolSpec

from .extra import apply_extra
from .usage import usage_from_event, usage_from_sdk

__all__ = ["CohereStream", "build_cohere_request", "parse_cohere_response"]

_FINISH_REASONS: dict[str, FinishReason] = {
    "COMPLETE": "stop",
    "MAX_TOKENS": "length",
    "ERROR_TOXIC": "content_filter",
    "ERROR": "error",
    "ERROR_LIMIT": "error",
    "USER_CANCEL": "stop",
}

# Cohere's parameter types are Python-style names.
_JSON_TO_COHERE_TYPES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "array": "list",
    "object": "dict",
}


def _finish(raw: str | None, *, has_tool_calls: bool) -> FinishReason:
    if has_tool_calls:
        return "tool_calls"
    return _FINISH_REASONS.get((raw or "COMPLETE").upper(), "stop")


def _new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def _to_cohere_tool(spec: ToolSpec) -> Any:
    properties: dict[str, Any] = spec.parameters.get("properties") or {}
    required = set(spec.parameters.get("required") or ())
    return models.CohereTool(
        name=spec.name,
        # Cohere rejects a tool without a description.
        description=spec.description or spec.name,
        parameter_definitions={
            name: models.CohereParameterDefinition(
                description=schema.get("description", ""),
                type=_JSON_TO_COHERE_TYPES.get(schema.get("type", ""), "str"),
                is_required=name in required,
            )
            for name, schema in properties.items()
        },
    )


def _result(call: ToolCall, output: str) -> Any:
    return models.CohereToolResult(
        call=models.CohereToolCall(name=call.name, parameters=call.arguments),
        outputs=[{"result": output}],
    )


class _CallIndex:
    """Finds the assistant tool call a tool message answers, by its id."""

    def __init__(self, messages: tuple[Message, ...]) -> None:
        self._calls = {call.id: call for m in messages for call in m.tool_calls}

    def answered_by(self, message: Message) -> ToolCall:
        call = self._calls.get(message.tool_call_id or "")
        if call is None:
            raise UserError(
                f"tool message {message.tool_call_id!r} (name={message.name!r}) answers no "
                "tool call of an earlier assistant message"
            )
        return call


def _history_entry(message: Message, calls: _CallIndex) -> Any:
    if message.role == "user":
        return models.CohereUserMessage(message=message.content)
    if message.role == "tool":
        return models.CohereToolMessage(
            tool_results=[_result(calls.answered_by(message), message.content)]
        )
    return models.CohereChatBotMessage(
        # An empty chatbot message is rejected; one that only calls tools gets a space.
        message=message.content or " ",
        tool_calls=[
            models.CohereToolCall(name=call.name, parameters=call.arguments)
            for call in message.tool_calls
        ]
        or None,
    )


def build_cohere_request(request: ModelRequest, *, stream: bool) -> Any:
    """A ``CohereChatRequest`` for ``request``.

    Raises:
        UserError: when the conversation ends neither with a user message nor with tool
            results, or a tool message answers no earlier tool call.
        ConfigurationError: for an ``extra`` setting the request type does not have.
    """
    system = [m.content for m in request.messages if m.role == "system"]
    turns = tuple(m for m in request.messages if m.role != "system")
    calls = _CallIndex(turns)
    trailing = 0
    while trailing < len(turns) and turns[len(turns) - 1 - trailing].role == "tool":
        trailing += 1
    if trailing:
        history, message = turns[: len(turns) - trailing], ""
        results = [_result(calls.answered_by(m), m.content) for m in turns[len(turns) - trailing :]]
    elif turns and turns[-1].role == "user":
        history, message, results = turns[:-1], turns[-1].content, []
    else:
        last = turns[-1].role if turns else "nothing"
        raise UserError(f"a Cohere chat must end with a user message or tool results, not {last}")
    settings = request.settings
    chat = models.CohereChatRequest(
        api_format=models.BaseChatRequest.API_FORMAT_COHERE,
        message=message,
        chat_history=[_history_entry(m, calls) for m in history] or None,
        preamble_override="\n\n".join(system) if system else None,
        tool_results=results or None,
        is_stream=stream,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
    )
    if stream:
        chat.stream_options = models.StreamOptions(is_include_usage=True)
    if request.tools:
        chat.tools = [_to_cohere_tool(spec) for spec in request.tools]
    if request.output is not None:
        chat.response_format = models.CohereResponseJsonFormat(schema=request.output.json_schema)
    apply_extra(chat, settings.extra)
    return chat


def _calls_from(raw_calls: list[Any] | None) -> tuple[ToolCall, ...]:
    calls = []
    for raw in raw_calls or []:
        # Parsed SDK models in a whole reply, plain dicts in stream events.
        name = raw.get("name") if isinstance(raw, dict) else raw.name
        parameters = raw.get("parameters") if isinstance(raw, dict) else raw.parameters
        calls.append(ToolCall(id=_new_call_id(), name=str(name or ""), arguments=parameters or {}))
    return tuple(calls)


def parse_cohere_response(chat_response: Any, *, model_name: str) -> ModelResponse:
    """A ``CohereChatResponse`` as a locus ``ModelResponse``."""
    calls = _calls_from(chat_response.tool_calls)
    usage = usage_from_sdk(chat_response.usage)
    return ModelResponse(
        message=Message.assistant(chat_response.text or "", calls),
        usage=usage,
        finish_reason=_finish(chat_response.finish_reason, has_tool_calls=bool(calls)),
        model_name=model_name,
    )


@dataclass
class CohereStream:
    """Assembles COHERE stream events.

    Text arrives as ``{"text": ...}`` events; the closing event (with ``finishReason``)
    repeats the whole text, so only events without ``finishReason`` or ``toolCalls``
    count as deltas. Tool calls arrive whole, in an event with ``toolCalls``.
    """

    model_name: str
    _text: list[str] = field(default_factory=list)
    _calls: tuple[ToolCall, ...] = ()
    _finish: str | None = None
    _usage: Usage = field(default_factory=Usage)

    def add(self, event: dict[str, Any]) -> TextDelta | None:
        """Take in one event; return its text as a delta, if it carried new text."""
        usage = usage_from_event(event)
        if usage is not None:
            self._usage = usage
        if event.get("toolCalls"):
            # Later events may repeat the calls; the latest list is the whole list.
            self._calls = _calls_from(event["toolCalls"])
        if event.get("finishReason"):
            self._finish = str(event["finishReason"])
            return None
        text = event.get("text")
        if text and not event.get("toolCalls"):
            self._text.append(text)
            return TextDelta(text=text)
        return None

    def response(self) -> ModelResponse:
        """The complete turn."""
        return ModelResponse(
            message=Message.assistant("".join(self._text), self._calls),
            usage=self._usage,
            finish_reason=_finish(self._finish, has_tool_calls=bool(self._calls)),
            model_name=self.model_name,
        )
