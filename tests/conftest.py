"""Suite-wide settings: no test can reach a real model provider by accident; an in-memory
span exporter for the tests that read traces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from locus.models.guard import set_allow_model_requests

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

# Switched off at import, before any test module builds a model. Live tests that really
# call a provider (marked ``live``) switch it back on for themselves.
set_allow_model_requests(False)


@pytest.fixture
def span_exporter() -> Iterator[InMemorySpanExporter]:
    """An OpenTelemetry SDK tracer given to locus for one test, its spans kept in memory."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from locus import observe

    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    observe.configure(tracer_provider=provider)
    try:
        yield spans
    finally:
        observe.configure()
        provider.shutdown()
