"""Spans and metrics for model and tool calls, after the OpenTelemetry GenAI conventions.

A model call is a ``chat {model}`` CLIENT span with ``gen_ai.*`` attributes (operation,
provider, request and response model, token usage, finish reasons); a tool call is an
``execute_tool {name}`` span with the tool's name and call id. A call answered from the
node's journal on resume carries ``locus.replayed = true`` and adds no token metrics.
Message text and tool arguments/results go on the spans only when content capture is on.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import SpanKind, Status, StatusCode

from locus.core.interrupt import NodeInterrupt

if TYPE_CHECKING:
    from locus.core.messages import Message, ToolCall, Usage
    from locus.models.base import ModelRequest, ModelResponse
    from locus.observe.otel import Observer

__all__ = ["ModelCall", "ToolCallSpan", "split_model_name"]

#: Usage fields a release may have -> GenAI attribute (set only when non-zero)
_EXTRA_USAGE = (
    ("cached_input_tokens", "gen_ai.usage.cache_read.input_tokens"),
    ("reasoning_tokens", "gen_ai.usage.reasoning.output_tokens"),
)


def split_model_name(name: str) -> tuple[str, str]:
    """``"openai:gpt-4.1"`` -> ``("openai", "gpt-4.1")``; a bare name is its own provider."""
    provider, sep, model = name.partition(":")
    return (provider, model) if sep else (name, name)


def usage_attributes(usage: Usage) -> dict[str, int]:
    """The GenAI token-count attributes of ``usage`` (cached/reasoning when it has them)."""
    out = {
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
    }
    for name, attribute in _EXTRA_USAGE:
        value = getattr(usage, name, None)
        if isinstance(value, int) and value:
            out[attribute] = value
    return out


def _parts(message: Message) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if message.role == "tool":
        parts.append(
            {"type": "tool_call_response", "id": message.tool_call_id, "response": message.content}
        )
        return parts
    if message.content:
        parts.append({"type": "text", "content": message.content})
    for call in message.tool_calls:
        parts.append(
            {"type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments}
        )
    return parts


def _messages_json(messages: Any, finish_reason: str | None = None) -> str:
    out = []
    for message in messages:
        entry: dict[str, Any] = {"role": message.role, "parts": _parts(message)}
        if finish_reason is not None:
            entry["finish_reason"] = finish_reason
        out.append(entry)
    return json.dumps(out, default=str)


def _fail(span: Any, exc: BaseException) -> None:
    if isinstance(exc, Exception):
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        span.set_attribute("error.type", type(exc).__qualname__)


class ModelCall:
    """One observed model call: its span (if tracing) and its metrics (if metering)."""

    __slots__ = ("attrs", "content", "instruments", "span", "started")

    def __init__(self, observer: Observer, model_name: str, request: ModelRequest) -> None:
        provider, model = split_model_name(model_name)
        self.attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
        }
        self.instruments = observer.instruments
        self.started = time.perf_counter()
        self.span: Any = None
        self.content = False
        tracer = observer.tracer
        if tracer is not None:
            self.content = observer.content
            attributes = dict(self.attrs)
            settings = request.settings
            if settings.max_tokens is not None:
                attributes["gen_ai.request.max_tokens"] = settings.max_tokens
            if settings.temperature is not None:
                attributes["gen_ai.request.temperature"] = settings.temperature
            if self.content:
                attributes["gen_ai.input.messages"] = _messages_json(request.messages)
                if request.tools:
                    attributes["gen_ai.tool.definitions"] = json.dumps(
                        [t.model_dump(mode="json") for t in request.tools], default=str
                    )
            self.span = tracer.start_span(
                f"chat {model}", kind=SpanKind.CLIENT, attributes=attributes
            )

    def responded(self, response: ModelResponse, *, replayed: bool = False) -> None:
        """Record the response: usage, finish reason, response model; replays are marked."""
        usage = usage_attributes(response.usage)
        span = self.span
        if span is not None:
            span.set_attribute("gen_ai.response.finish_reasons", [response.finish_reason])
            if response.model_name:
                span.set_attribute(
                    "gen_ai.response.model", split_model_name(response.model_name)[1]
                )
            span.set_attributes(usage)
            span.set_attribute("locus.replayed", replayed)
            if self.content:
                span.set_attribute(
                    "gen_ai.output.messages",
                    _messages_json([response.message], response.finish_reason),
                )
        instruments = self.instruments
        if instruments is not None and not replayed:
            attrs = self.attrs
            if response.model_name:
                attrs = {
                    **attrs,
                    "gen_ai.response.model": split_model_name(response.model_name)[1],
                }
            instruments.model_duration.record(time.perf_counter() - self.started, attrs)
            record = instruments.token_usage.record
            record(usage["gen_ai.usage.input_tokens"], {**attrs, "gen_ai.token.type": "input"})
            record(usage["gen_ai.usage.output_tokens"], {**attrs, "gen_ai.token.type": "output"})

    def failed(self, exc: BaseException) -> None:
        """The call raised: ERROR status with the exception recorded."""
        if self.span is not None:
            _fail(self.span, exc)
        if self.instruments is not None and isinstance(exc, Exception):
            attrs = {**self.attrs, "error.type": type(exc).__qualname__}
            self.instruments.model_duration.record(time.perf_counter() - self.started, attrs)

    def end(self) -> None:
        """End the span (idempotent)."""
        if self.span is not None:
            self.span.end()
            self.span = None


class ToolCallSpan:
    """One observed tool call: an ``execute_tool`` span."""

    __slots__ = ("content", "span")

    def __init__(self, observer: Observer, call: ToolCall) -> None:
        self.span: Any = None
        self.content = False
        tracer = observer.tracer
        if tracer is None:
            return
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call.name,
            "gen_ai.tool.call.id": call.id,
            "gen_ai.tool.type": "function",
        }
        self.content = observer.content
        if self.content:
            attributes["gen_ai.tool.call.arguments"] = json.dumps(call.arguments, default=str)
        self.span = tracer.start_span(f"execute_tool {call.name}", attributes=attributes)

    def done(self, content: str, is_error: bool, *, replayed: bool = False) -> None:
        """Record the outcome; a tool's error outcome sets ERROR status."""
        span = self.span
        if span is None:
            return
        span.set_attribute("locus.replayed", replayed)
        if self.content:
            span.set_attribute("gen_ai.tool.call.result", content)
        if is_error:
            span.set_attribute("error.type", "tool_error")
            span.set_status(Status(StatusCode.ERROR, "the tool call failed"))

    def failed(self, exc: BaseException) -> None:
        """The call raised, or paused the graph (``interrupt()`` in a tool: status OK)."""
        span = self.span
        if span is None:
            return
        if isinstance(exc, NodeInterrupt):
            span.add_event("interrupt")
            span.set_attribute("locus.paused", True)
            span.set_status(Status(StatusCode.OK))
            return
        _fail(span, exc)

    def end(self) -> None:
        """End the span (idempotent)."""
        if self.span is not None:
            self.span.end()
            self.span = None
