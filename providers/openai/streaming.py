"""Streamed chat-completion chunks assembled into text deltas and one final response."""

from __future__ import annotations

from dataclasses import dataclass, field

from openai.types.chat import ChatCompletionChunk

from locus.core.messages import Message, ToolCall, Usage
from locus.models.base import ModelResponse, TextDelta

from .._shared import parse_tool_arguments
from .convert import finish_reason, usage_from_openai

__all__ = ["StreamAssembler"]


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class StreamAssembler:
    """Collects a chat-completions stream chunk by chunk.

    Text is handed back as it arrives; refusal text is gathered apart from it (it is not
    an answer); tool-call fragments are gathered by their ``index``
    (the id and name come in the first fragment, the JSON arguments in pieces); usage
    comes in the last chunk when ``stream_options.include_usage`` was requested.
    """

    model_name: str
    _text: list[str] = field(default_factory=list)
    _refusal: list[str] = field(default_factory=list)
    _calls: dict[int, _PartialCall] = field(default_factory=dict)
    _finish: str | None = None
    _usage: Usage = field(default_factory=Usage)

    def add(self, chunk: ChatCompletionChunk) -> TextDelta | None:
        """Take in one chunk; return its text as a delta, if it carried any."""
        if chunk.usage is not None:
            self._usage = usage_from_openai(chunk.usage)
        if not chunk.choices:
            return None
        choice = chunk.choices[0]
        if choice.finish_reason is not None:
            self._finish = choice.finish_reason
        delta = choice.delta
        for fragment in delta.tool_calls or ():
            # Some OpenAI-compatible servers omit the index when each chunk holds whole calls.
            index = getattr(fragment, "index", None)
            key = index if isinstance(index, int) else len(self._calls)
            partial = self._calls.setdefault(key, _PartialCall())
            if fragment.id:
                partial.id = fragment.id
            if fragment.function is not None:
                if fragment.function.name and not partial.name:
                    # Sent whole with the first fragment; some servers repeat it later.
                    partial.name = fragment.function.name
                if fragment.function.arguments:
                    partial.arguments.append(fragment.function.arguments)
        if delta.refusal:
            # Refusal text streams in its own field; it is no part of the answer.
            self._refusal.append(delta.refusal)
        if delta.content:
            self._text.append(delta.content)
            return TextDelta(text=delta.content)
        return None

    def response(self) -> ModelResponse:
        """The complete turn: all text, every tool call assembled, usage and finish reason.

        Raises:
            ModelProviderError: when an assembled tool call's arguments are not a JSON object.
        """
        calls = tuple(
            ToolCall(
                id=partial.id or f"call_{index}",
                name=partial.name,
                arguments=parse_tool_arguments(
                    "".join(partial.arguments), tool=partial.name, provider=self.model_name
                ),
            )
            for index, partial in sorted(self._calls.items())
        )
        refusal = "".join(self._refusal) or None
        return ModelResponse(
            message=Message.assistant("".join(self._text), calls),
            usage=self._usage,
            finish_reason=finish_reason(
                self._finish, has_tool_calls=bool(calls), refused=refusal is not None
            ),
            model_name=self.model_name,
            refusal=refusal,
        )
