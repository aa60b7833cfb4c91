"""See what runs: OpenTelemetry spans and metrics, ``locus.*`` loggers, live console output.

Tracing and metrics use ``opentelemetry-api`` (the ``locus[otel]`` extra) and cost nothing
until a tracer or meter provider is set, globally or with ``configure``::

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    trace.set_tracer_provider(TracerProvider())   # plus your exporter
    # every graph execution, step, node, model call and tool call is now a span

Set ``LOCUS_TRACE_CONTENT=1`` (or ``configure(trace_content=True)``) to put prompts,
completions and tool arguments on the spans. ``render`` shows a graph stream in the
terminal as it runs.
"""

from __future__ import annotations

from locus.observe.console import render
from locus.observe.settings import TRACE_CONTENT_ENV, configure

__all__ = ["TRACE_CONTENT_ENV", "configure", "render"]
