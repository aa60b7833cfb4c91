"""The COHEREV2 chat format (Cohere's V2 chat API on OCI: Command A and later models).

Unlike the COHERE format, V2 takes the whole conversation as ``messages`` whose
``content`` is a list of parts, tool calls in an OpenAI-like shape (``id``, ``type``,
``function`` with ``name`` and JSON ``arguments``) and tool results as ``TOOL`` messages
naming the call they answer. Reasoning models answer with ``THINKING`` parts before the
``TEXT`` ones; locus keeps them apart from the answer, as ``reasoning``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from oci.generative_ai_inference import models

from locus.core.messages import Message, ToolCall, Usage
from locus.models.base import FinishReason, ModelRequest, ModelResponse, TextDelta

from .._shared import answered_call_id, parse_tool_arguments
from .calls import PartialCalls
from .extra import apply_extra
from .usage import usage_from_event, usage_from_sdk

__all__ = ["CohereV2Stream", "build_cohere_v2_request", "parse_cohere_v2_response"]

_FINISH_REASONS: dict[str, FinishReason] = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR": "error",
}

_TEXT = "TEXT"
_THINKING = "THINKING"
_FUNCTION = "FUNCTION"


def _finish(raw: str | None, *, has_tool_calls: bool) -> FinishReason:
    if has_tool_calls:
        return "tool_calls"
    return _FINISH_REASONS.get((raw or "COMPLETE").upper(), "stop")


def _text(text: str) -> list[Any]:
    return [models.CohereTextContentV2(type=_TEXT, text=text)]


def _to_v2_message(message: Message) -> Any:
    if message.role == "system":
        return models.CohereSystemMessageV2(content=_text(message.content))
    if message.role == "user":
        return models.CohereUserMessageV2(content=_text(message.content))
    if message.role == "tool":
        return models.CohereToolMessageV2(
            content=_text(message.content), tool_call_id=answered_call_id(message)
        )
    calls = [
        models.CohereToolCallV2(
            id=call.id,
            type=_FUNCTION,
            # ``function`` is a free-form object in the SDK: these are the JSON keys sent.
            function={"name": call.name, "arguments": json.dumps(call.arguments)},
        )
        for call in message.tool_calls
    ]
    return models.CohereAssistantMessageV2(
        content=_text(message.content) if message.content else None,
        tool_calls=calls or None,
    )


def build_cohere_v2_request(request: ModelRequest, *, stream: bool) -> Any:
    """A ``CohereChatRequestV2`` for ``request``; streaming asks for usage in the stream.

    ``settings.extra`` entries are set as attributes of the SDK model (snake_case names,
    e.g. ``thinking`` or ``safety_mode``).

    Raises:
        UserError: for a tool message without a ``tool_call_id``.
        ConfigurationError: for an ``extra`` setting the request type does not have.
    """
    settings = request.settings
    chat = models.CohereChatRequestV2(
        api_format=models.BaseChatRequest.API_FORMAT_COHEREV2,
        messages=[_to_v2_message(message) for message in request.messages],
        is_stream=stream,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
    )
    if stream:
        chat.stream_options = models.StreamOptions(is_include_usage=True)
    if request.tools:
        chat.tools = [
            models.CohereToolV2(
                type=_FUNCTION,
                function=models.Function(
                    name=spec.name,
                    # Cohere rejects a tool without a description.
                    description=spec.description or spec.name,
                    parameters=spec.parameters,
                ),
            )
            for spec in request.tools
        ]
    if request.output is not None:
        chat.response_format = models.CohereResponseJsonFormat(schema=request.output.json_schema)
    apply_extra(chat, settings.extra)
    return chat


def _part(raw: Any) -> tuple[str, str]:
    """A content part as (type, text): SDK models in a whole reply, dicts in events."""
    if isinstance(raw, dict):
        kind = str(raw.get("type") or _TEXT).upper()
        value = raw.get("thinking") if kind == _THINKING else raw.get("text")
    else:
        kind = str(getattr(raw, "type", None) or _TEXT).upper()
        value = getattr(raw, "thinking" if kind == _THINKING else "text", None)
    return kind, value if isinstance(value, str) else ""


def _split(parts: list[Any] | None) -> tuple[str, str]:
    """The answer text and the reasoning text of a list of content parts."""
    text: list[str] = []
    thinking: list[str] = []
    for raw in parts or []:
        kind, value = _part(raw)
        if kind == _THINKING:
            thinking.append(value)
        elif kind == _TEXT:
            text.append(value)
    return "".join(text), "".join(thinking)


def _call_fields(raw: Any) -> tuple[str | None, str | None, str | None]:
    """A tool call's (id, name, JSON arguments), from an SDK model or an event dict."""
    call_id = raw.get("id") if isinstance(raw, dict) else getattr(raw, "id", None)
    function = raw.get("function") if isinstance(raw, dict) else getattr(raw, "function", None)
    if not isinstance(function, dict):
        function = {}
    arguments = function.get("arguments")
    if isinstance(arguments, dict):
        arguments = json.dumps(arguments)
    return (
        call_id if isinstance(call_id, str) and call_id else None,
        function.get("name") if isinstance(function.get("name"), str) else None,
        arguments if isinstance(arguments, str) else None,
    )


def _reasoning(thinking: str, tool_plan: object) -> str | None:
    """Thinking parts and Cohere's ``toolPlan`` (why it calls tools), else None."""
    pieces = [p for p in (thinking, tool_plan) if isinstance(p, str) and p]
    return "\n\n".join(pieces) or None


def parse_cohere_v2_response(chat_response: Any, *, model_name: str) -> ModelResponse:
    """A ``CohereChatResponseV2`` as a locus ``ModelResponse``.

    Raises:
        ModelProviderError: when a tool call's arguments are not a JSON object.
    """
    message = chat_response.message
    text, thinking = _split(getattr(message, "content", None))
    calls = []
    for raw in getattr(message, "tool_calls", None) or []:
        call_id, name, arguments = _call_fields(raw)
        calls.append(
            ToolCall(
                id=call_id or _new_call_id(),
                name=name or "",
                arguments=parse_tool_arguments(arguments, tool=name or "", provider=model_name),
            )
        )
    return ModelResponse(
        message=Message.assistant(text, tuple(calls)),
        usage=usage_from_sdk(chat_response.usage),
        finish_reason=_finish(chat_response.finish_reason, has_tool_calls=bool(calls)),
        model_name=model_name,
        reasoning=_reasoning(thinking, getattr(message, "tool_plan", None)),
    )


def _new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


@dataclass
class CohereV2Stream:
    """Assembles COHEREV2 stream events.

    Each event carries ``message.content`` parts (``TEXT`` answer pieces or ``THINKING``
    reasoning pieces), ``message.toolPlan`` pieces, ``message.toolCalls`` fragments, and
    the last ones ``finishReason`` and ``usage``. The closing event may repeat the whole
    message: its text and calls are taken only when none arrived before.
    """

    model_name: str
    _text: list[str] = field(default_factory=list)
    _thinking: list[str] = field(default_factory=list)
    _plan: list[str] = field(default_factory=list)
    _calls: PartialCalls = field(default_factory=PartialCalls)
    _finish: str | None = None
    _usage: Usage = field(default_factory=Usage)

    def add(self, event: dict[str, Any]) -> TextDelta | None:
        """Take in one event; return its answer text as a delta, if it carried new text."""
        usage = usage_from_event(event)
        if usage is not None:
            self._usage = usage
        closing = bool(event.get("finishReason"))
        if closing:
            self._finish = str(event["finishReason"])
        message = event.get("message")
        if not isinstance(message, dict):
            return None
        text, thinking = _split(message.get("content"))
        plan = message.get("toolPlan")
        if not closing or not (self._text or self._thinking or self._plan or self._calls):
            if thinking:
                self._thinking.append(thinking)
            if isinstance(plan, str) and plan:
                self._plan.append(plan)
        if not closing or not self._calls:
            for fragment in message.get("toolCalls") or []:
                self._calls.add(*_call_fields(fragment))
        if text and not (closing and self._text):
            self._text.append(text)
            return TextDelta(text=text)
        return None

    def response(self) -> ModelResponse:
        """The complete turn.

        Raises:
            ModelProviderError: when an assembled tool call's arguments are not JSON.
        """
        calls = self._calls.complete(provider=self.model_name)
        return ModelResponse(
            message=Message.assistant("".join(self._text), calls),
            usage=self._usage,
            finish_reason=_finish(self._finish, has_tool_calls=bool(calls)),
            model_name=self.model_name,
            reasoning=_reasoning("".join(self._thinking), "".join(self._plan)),
        )
