"""locus messages and tools to chat-completions parameters, and completions back."""

from __future__ import annotations

import json
from typing import Any, Literal

from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion

from locus.core.messages import Message, ToolCall, Usage
from locus.errors import ModelProviderError
from locus.models.base import FinishReason, ModelRequest, ModelResponse, OutputSpec, ToolSpec

from .._shared import answered_call_id, parse_tool_arguments

__all__ = [
    "MaxTokensParam",
    "finish_reason",
    "request_params",
    "response_from_completion",
    "to_openai_message",
    "to_openai_tool",
    "to_response_format",
    "usage_from_openai",
]

PROVIDER = "openai"

#: Which request field carries ``max_tokens``: reasoning models accept only the second.
MaxTokensParam = Literal["max_tokens", "max_completion_tokens"]

_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "length": "length",
    "content_filter": "content_filter",
}


def to_openai_message(message: Message) -> dict[str, Any]:
    """One locus message as a chat-completions message.

    Raises:
        UserError: for a tool message without the ``tool_call_id`` it answers.
    """
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": answered_call_id(message),
            "content": message.content,
        }
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def to_openai_tool(spec: ToolSpec) -> dict[str, Any]:
    """One tool spec as a chat-completions function tool."""
    return {
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.parameters,
        },
    }


def to_response_format(output: OutputSpec) -> dict[str, Any]:
    """The ``json_schema`` response format asking for ``output`` (strict when it fits)."""
    json_schema: dict[str, Any] = {
        "name": output.name,
        "schema": output.json_schema,
        "strict": output.strict,
    }
    if output.description:
        json_schema["description"] = output.description
    return {"type": "json_schema", "json_schema": json_schema}


def request_params(
    model_id: str, request: ModelRequest, *, max_tokens_param: MaxTokensParam
) -> dict[str, Any]:
    """The body of a chat-completions request, without ``stream``.

    ``settings.extra`` is merged last, so a caller can set any field the API accepts.
    """
    params: dict[str, Any] = {
        "model": model_id,
        "messages": [to_openai_message(message) for message in request.messages],
    }
    if request.tools:
        params["tools"] = [to_openai_tool(spec) for spec in request.tools]
    if request.output is not None:
        params["response_format"] = to_response_format(request.output)
    settings = request.settings
    if settings.max_tokens is not None:
        params[max_tokens_param] = settings.max_tokens
    if settings.temperature is not None:
        params["temperature"] = settings.temperature
    params.update(settings.extra)
    return params


def usage_from_openai(raw: CompletionUsage | None) -> Usage:
    """Token usage as OpenAI reports it, details included; zero when absent.

    Cached prompt tokens are ``prompt_tokens_details.cached_tokens`` and reasoning tokens
    ``completion_tokens_details.reasoning_tokens``; OpenAI-compatible servers often leave
    both details out.
    """
    if raw is None:
        return Usage()
    prompt_details = raw.prompt_tokens_details
    completion_details = raw.completion_tokens_details
    return Usage(
        input_tokens=raw.prompt_tokens or 0,
        output_tokens=raw.completion_tokens or 0,
        cached_input_tokens=(prompt_details.cached_tokens or 0) if prompt_details else 0,
        reasoning_tokens=(completion_details.reasoning_tokens or 0) if completion_details else 0,
    )


def finish_reason(raw: str | None, *, has_tool_calls: bool, refused: bool = False) -> FinishReason:
    """The locus finish reason for OpenAI's; tool calls win over whatever was reported.

    OpenAI reports a refusal with ``finish_reason="stop"`` and the text in ``refusal``;
    locus says ``"refusal"``, so a run cannot pass it off as an empty answer.
    """
    if has_tool_calls:
        return "tool_calls"
    if refused:
        return "refusal"
    return _FINISH_REASONS.get(raw or "stop", "stop")


def response_from_completion(completion: ChatCompletion, *, model_name: str) -> ModelResponse:
    """A complete ``ChatCompletion`` as a locus ``ModelResponse``.

    Raises:
        ModelProviderError: when the reply is not a completion, has no choices, or a
            tool call's arguments are not a JSON object.
    """
    if not isinstance(completion, ChatCompletion):
        # The SDK hands back plain text when the server's reply is not JSON.
        raise ModelProviderError(
            f"{model_name}: the server's reply is not a chat completion "
            f"(got {type(completion).__name__}); is base_url an OpenAI-compatible API?",
            provider=PROVIDER,
        )
    if not completion.choices:
        raise ModelProviderError(f"{model_name}: the response has no choices", provider=PROVIDER)
    choice = completion.choices[0]
    calls: list[ToolCall] = []
    for raw_call in choice.message.tool_calls or ():
        if raw_call.type != "function":
            continue  # custom (free-form) tools are not part of the locus tool protocol
        calls.append(
            ToolCall(
                id=raw_call.id,
                name=raw_call.function.name,
                arguments=parse_tool_arguments(
                    raw_call.function.arguments, tool=raw_call.function.name, provider=model_name
                ),
            )
        )
    refusal = choice.message.refusal or None
    return ModelResponse(
        message=Message.assistant(choice.message.content or "", tuple(calls)),
        usage=usage_from_openai(completion.usage),
        finish_reason=finish_reason(
            choice.finish_reason, has_tool_calls=bool(calls), refused=refusal is not None
        ),
        model_name=model_name,
        refusal=refusal,
    )
