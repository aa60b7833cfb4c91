"""The OpenTelemetry side: which providers are in force, and the tracer and instruments.

Imported only once ``opentelemetry`` is already loaded (or ``configure`` got a provider),
so merely having the extra installed costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry import metrics, trace

from locus.observe.metrics import Instruments
from locus.observe.settings import settings

if TYPE_CHECKING:
    from locus.core.messages import ToolCall
    from locus.models.base import ModelRequest
    from locus.observe.genai import ModelCall, ToolCallSpan

__all__ = ["Observer", "current"]

_SCOPE = "locus"
#: the providers OpenTelemetry hands out before the application sets a real one
_INERT = frozenset(
    {"ProxyTracerProvider", "NoOpTracerProvider", "_ProxyMeterProvider", "NoOpMeterProvider"}
)


class Observer:
    """A tracer and/or the metric instruments, for one pair of providers.

    Attributes:
        tracer: locus's tracer, or ``None`` when no tracer provider is set.
        instruments: locus's instruments, or ``None`` when no meter provider is set.
    """

    __slots__ = ("instruments", "tracer")

    def __init__(self, tracer: Any, instruments: Instruments | None) -> None:
        self.tracer = tracer
        self.instruments = instruments

    @property
    def content(self) -> bool:
        """True when prompts, completions and tool arguments may go on spans."""
        return settings.content_enabled()

    def model_call(self, model_name: str, request: ModelRequest) -> ModelCall:
        """Start observing one model call (a GenAI ``chat`` span)."""
        from locus.observe.genai import ModelCall

        return ModelCall(self, model_name, request)

    def tool_call(self, call: ToolCall) -> ToolCallSpan:
        """Start observing one tool call (a GenAI ``execute_tool`` span)."""
        from locus.observe.genai import ToolCallSpan

        return ToolCallSpan(self, call)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("locus")
    except PackageNotFoundError:
        return "0+unknown"


_cached: tuple[Any, Any, int, Observer | None] | None = None


def current() -> Observer | None:
    """The observer for the providers in force now, or ``None`` when both are inert."""
    global _cached
    tracer_provider = settings.tracer_provider or trace.get_tracer_provider()
    meter_provider = settings.meter_provider or metrics.get_meter_provider()
    cached = _cached
    if (
        cached is not None
        and cached[0] is tracer_provider
        and cached[1] is meter_provider
        and cached[2] == settings.generation
    ):
        return cached[3]
    tracer = None
    instruments = None
    if type(tracer_provider).__name__ not in _INERT:
        tracer = tracer_provider.get_tracer(_SCOPE, _version())
    if type(meter_provider).__name__ not in _INERT:
        instruments = Instruments(meter_provider.get_meter(_SCOPE, _version()))
    observer = Observer(tracer, instruments) if tracer or instruments else None
    _cached = (tracer_provider, meter_provider, settings.generation, observer)
    return observer
