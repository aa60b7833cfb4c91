"""The one interface every model provider implements.

An agent builds a ``ModelRequest`` (messages, tool specs, settings) and either awaits
``Model.request`` for a whole ``ModelResponse`` or iterates ``Model.stream``, which yields
``TextDelta`` chunks as text arrives and ends with exactly one ``ModelResponse`` (tool-call
fragments already assembled into complete ``ToolCall``s).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from locus.core.messages import Message, Usage

__all__ = [
    "FinishReason",
    "Model",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "OutputSpec",
    "StreamItem",
    "TextDelta",
    "ToolSpec",
]

#: Why the model stopped: ``"refusal"`` when it declined to answer (``refusal`` says why).
FinishReason = Literal["stop", "tool_calls", "length", "content_filter", "refusal", "error"]


class ToolSpec(BaseModel):
    """What a model is told about one tool: its name, purpose and JSON Schema of arguments."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ModelSettings(BaseModel):
    """Sampling settings sent with a request; ``None`` leaves the provider's default."""

    model_config = ConfigDict(frozen=True)

    max_tokens: int | None = None
    temperature: float | None = None
    timeout: float | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class OutputSpec(BaseModel):
    """The shape a final answer must have: a JSON Schema the provider should enforce.

    Providers ask for it the best way they can (a JSON-schema response format); ``strict``
    says the schema fits the strict subset (every property required, no extra ones), so a
    provider may ask for constrained decoding.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    json_schema: dict[str, Any]
    description: str = ""
    strict: bool = False


class ModelRequest(BaseModel):
    """Everything a model needs for one call; ``output`` when the answer must be JSON."""

    model_config = ConfigDict(frozen=True)

    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    settings: ModelSettings = Field(default_factory=ModelSettings)
    output: OutputSpec | None = None


class ModelResponse(BaseModel):
    """A complete model turn: the assistant message (text and tool calls) and its usage.

    Attributes:
        message: the answer text and the tool calls, as it goes into the conversation.
        usage: tokens this call used.
        finish_reason: why the model stopped.
        model_name: the model that answered.
        refusal: the model's explanation when it declined to answer (OpenAI's
            ``refusal``); ``finish_reason`` is then ``"refusal"``. Never part of
            ``message.content``.
        reasoning: the reasoning text the model showed before answering (OCI's
            ``reasoningContent``, Cohere's thinking), kept apart from the answer.
    """

    model_config = ConfigDict(frozen=True)

    message: Message
    usage: Usage = Field(default_factory=Usage)
    finish_reason: FinishReason = "stop"
    model_name: str = ""
    refusal: str | None = None
    reasoning: str | None = None


class TextDelta(BaseModel):
    """A piece of streamed text."""

    model_config = ConfigDict(frozen=True)

    text: str


StreamItem = TextDelta | ModelResponse


class Model(ABC):
    """A chat model. Implementations must be safe to share between concurrent runs."""

    #: ``"provider:model"``, e.g. ``"openai:gpt-4.1"`` or ``"mock"``.
    name: str = "model"

    @abstractmethod
    async def request(self, request: ModelRequest) -> ModelResponse:
        """Send one request and return the complete response.

        Raises:
            ModelProviderError: (a subclass of) when the provider fails after retries.
        """

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        """Yield ``TextDelta`` chunks as text arrives, then exactly one ``ModelResponse``.

        The default calls ``request`` and yields its text as a single delta.
        """
        response = await self.request(request)
        if response.message.content:
            yield TextDelta(text=response.message.content)
        yield response
