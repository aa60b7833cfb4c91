"""The GENERIC chat format (Meta, OpenAI, xAI, Google and other models hosted on OCI)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from oci.generative_ai_inference import models

from locus.core.messages import Message, ToolCall, Usage
from locus.errors import ModelProviderError
from locus.models.base import FinishReason, ModelRequest, ModelResponse, TextDelta

from .._shared import answered_call_id, parse_tool_arguments
from .calls import PartialCalls
from .extra import apply_extra
from .usage import usage_from_event, usage_from_sdk

__all__ = ["GenericStream", "build_generic_request", "parse_generic_response"]

_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "end_turn": "stop",
    "complete": "stop",
    "tool_calls": "tool_calls",
    "tool_use": "tool_calls",
    "length": "length",
    "max_tokens": "length",
    "content_filter": "content_filter",
}


def _finish(raw: str | None, *, has_tool_calls: bool, refused: bool = False) -> FinishReason:
    if has_tool_calls:
        return "tool_calls"
    if refused:
        return "refusal"
    return _FINISH_REASONS.get((raw or "stop").lower(), "stop")


def _text(text: str) -> list[Any]:
    return [models.TextContent(text=text)]


def _to_oci_message(message: Message) -> Any:
    if message.role == "system":
        return models.SystemMessage(content=_text(message.content))
    if message.role == "user":
        return models.UserMessage(content=_text(message.content))
    if message.role == "tool":
        return models.ToolMessage(
            content=_text(message.content), tool_call_id=answered_call_id(message)
        )
    calls = [
        models.FunctionCall(id=call.id, name=call.name, arguments=json.dumps(call.arguments))
        for call in message.tool_calls
    ]
    return models.AssistantMessage(
        content=_text(message.content) if message.content else None,
        tool_calls=calls or None,
    )


def build_generic_request(request: ModelRequest, *, stream: bool) -> Any:
    """A ``GenericChatRequest`` for ``request``; streaming asks for usage in the stream.

    ``settings.extra`` entries are set as attributes of the SDK model (snake_case names,
    e.g. ``top_p``), so any field the API accepts can be sent.

    Raises:
        UserError: for a tool message without a ``tool_call_id``.
        ConfigurationError: for an ``extra`` setting the request type does not have.
    """
    settings = request.settings
    chat = models.GenericChatRequest(
        api_format=models.BaseChatRequest.API_FORMAT_GENERIC,
        messages=[_to_oci_message(message) for message in request.messages],
        is_stream=stream,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
    )
    if stream:
        chat.stream_options = models.StreamOptions(is_include_usage=True)
    if request.output is not None:
        chat.response_format = models.JsonSchemaResponseFormat(
            json_schema=models.ResponseJsonSchema(
                name=request.output.name,
                description=request.output.description or None,
                schema=request.output.json_schema,
                is_strict=request.output.strict,
            )
        )
    apply_extra(chat, settings.extra)
    if request.tools:
        chat.tools = [
            models.FunctionDefinition(
                type="FUNCTION",
                name=spec.name,
                description=spec.description,
                parameters=spec.parameters,
            )
            for spec in request.tools
        ]
    return chat


def parse_generic_response(chat_response: Any, *, model_name: str) -> ModelResponse:
    """A ``GenericChatResponse`` as a locus ``ModelResponse``.

    Raises:
        ModelProviderError: when it has no choices or a tool call's arguments are not JSON.
    """
    choices = chat_response.choices or []
    if not choices:
        raise ModelProviderError(f"{model_name}: the response has no choices", provider="oci")
    choice = choices[0]
    message = choice.message
    text = "".join(
        part.text or "" for part in (message.content or []) if getattr(part, "text", None)
    )
    calls = tuple(
        ToolCall(
            id=call.id,
            name=call.name,
            arguments=parse_tool_arguments(call.arguments, tool=call.name, provider=model_name),
        )
        for call in (getattr(message, "tool_calls", None) or [])
    )
    usage = chat_response.usage if chat_response.usage is not None else choice.usage
    # OpenAI models on OCI decline with ``refusal``, as they do on OpenAI itself.
    refusal = getattr(message, "refusal", None) or None
    return ModelResponse(
        message=Message.assistant(text, calls),
        usage=usage_from_sdk(usage),
        finish_reason=_finish(
            choice.finish_reason, has_tool_calls=bool(calls), refused=refusal is not None
        ),
        model_name=model_name,
        refusal=refusal,
        # Reasoning models (xai.grok-3-mini, openai.gpt-oss...) show it apart from the answer.
        reasoning=getattr(message, "reasoning_content", None) or None,
    )


@dataclass
class GenericStream:
    """Assembles GENERIC stream events (the JSON in each SSE ``data:`` line).

    An event carries ``message.content`` text parts, ``message.reasoningContent`` and
    ``message.refusal`` pieces, ``message.toolCalls`` fragments, ``finishReason`` and,
    last, ``usage``. Tool-call fragments are assembled as ``PartialCalls`` says (some
    servers give every call of a turn the same id; the agent loop re-keys them).
    """

    model_name: str
    _text: list[str] = field(default_factory=list)
    _reasoning: list[str] = field(default_factory=list)
    _refusal: list[str] = field(default_factory=list)
    _calls: PartialCalls = field(default_factory=PartialCalls)
    _finish: str | None = None
    _usage: Usage = field(default_factory=Usage)

    def add(self, event: dict[str, Any]) -> TextDelta | None:
        """Take in one event; return its text as a delta, if it carried any."""
        usage = usage_from_event(event)
        if usage is not None:
            self._usage = usage
        if event.get("finishReason"):
            self._finish = str(event["finishReason"])
        message = event.get("message") or {}
        for fragment in message.get("toolCalls") or []:
            self._calls.add(fragment.get("id"), fragment.get("name"), fragment.get("arguments"))
        for key, pieces in (("reasoningContent", self._reasoning), ("refusal", self._refusal)):
            piece = message.get(key)
            if isinstance(piece, str) and piece:
                pieces.append(piece)
        text = "".join(
            part.get("text") or "" for part in message.get("content") or [] if part.get("text")
        )
        if text:
            self._text.append(text)
            return TextDelta(text=text)
        return None

    def response(self) -> ModelResponse:
        """The complete turn.

        Raises:
            ModelProviderError: when an assembled tool call's arguments are not JSON.
        """
        calls = self._calls.complete(provider=self.model_name)
        refusal = "".join(self._refusal) or None
        return ModelResponse(
            message=Message.assistant("".join(self._text), calls),
            usage=self._usage,
            finish_reason=_finish(
                self._finish, has_tool_calls=bool(calls), refused=refusal is not None
            ),
            model_name=self.model_name,
            refusal=refusal,
            reasoning="".join(self._reasoning) or None,
        )
