"""What the user configured for observability in code, and the switches read from the env.

Everything here is plain data: reading or changing it imports nothing from OpenTelemetry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

__all__ = ["TRACE_CONTENT_ENV", "configure", "settings"]

#: Set to ``1`` (or ``true``) to record prompt and completion text on model and tool spans.
TRACE_CONTENT_ENV = "LOCUS_TRACE_CONTENT"


@dataclass(slots=True)
class Settings:
    """The observability settings in force (see ``configure``).

    Attributes:
        tracer_provider: an explicit OpenTelemetry ``TracerProvider``; ``None`` uses the
            global one (``opentelemetry.trace.set_tracer_provider``).
        meter_provider: an explicit ``MeterProvider``; ``None`` uses the global one.
        trace_content: record message and tool argument/result text on spans; ``None``
            reads ``LOCUS_TRACE_CONTENT``.
        generation: bumped on every ``configure`` call so cached observers are rebuilt.
    """

    tracer_provider: Any = None
    meter_provider: Any = None
    trace_content: bool | None = None
    generation: int = 0

    def content_enabled(self) -> bool:
        """True when prompt and completion text may be put on spans."""
        if self.trace_content is not None:
            return self.trace_content
        return os.environ.get(TRACE_CONTENT_ENV, "").strip().lower() in ("1", "true", "yes")


settings = Settings()


def configure(
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    trace_content: bool | None = None,
) -> None:
    """Send locus's spans and metrics to these providers instead of the global ones.

    Without this call locus uses whatever ``opentelemetry.trace.set_tracer_provider`` and
    ``opentelemetry.metrics.set_meter_provider`` installed, and costs nothing when neither
    was set. Calling ``configure()`` with no arguments goes back to the global providers.

    Args:
        tracer_provider: an OpenTelemetry ``TracerProvider`` for locus's spans.
        meter_provider: an OpenTelemetry ``MeterProvider`` for locus's metrics.
        trace_content: put prompts, completions and tool arguments/results on spans
            (off by default: they may hold personal data). ``None`` reads the
            ``LOCUS_TRACE_CONTENT`` environment variable.
    """
    settings.tracer_provider = tracer_provider
    settings.meter_provider = meter_provider
    settings.trace_content = trace_content
    settings.generation += 1
