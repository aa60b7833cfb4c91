"""One process of a durable refund run, traced with the global OpenTelemetry SDK providers.

Usage: trace_worker.py DB start|resume THREAD ROOT
Prints one JSON line: the execution spans (trace id, span id, links) and the points of
the ``locus.interrupt.wait`` histogram.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

sys.path.insert(0, sys.argv[-1])  # the repository root, passed last

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from locus.checkpoint import SQLiteCheckpointer
from locus.core import Command, interrupt
from locus.multiagent import END, START, StateGraph


def build(db: str) -> StateGraph:
    async def prepare(state: dict[str, Any]) -> dict[str, Any]:
        return {"amount": 120}

    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        return {"approved": interrupt({"question": "Refund $120?"}) == "yes"}

    graph = StateGraph("refunds", checkpointer=SQLiteCheckpointer(db))
    graph.add_node("prepare", prepare).add_node("approve", approve)
    graph.add_edge(START, "prepare").add_edge("prepare", "approve").add_edge("approve", END)
    return graph


async def main(db: str, mode: str, thread: str) -> None:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(tracer_provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

    graph = build(db)
    if mode == "start":
        result = await graph.execute({"ticket": "T-1"}, thread_id=thread)
    else:
        result = await graph.execute(Command(resume="yes"), thread_id=thread)
    runs = [
        {
            "trace_id": format(s.context.trace_id, "032x"),
            "span_id": format(s.context.span_id, "016x"),
            "status": s.attributes["locus.run.status"],
            "links": [
                {
                    "trace_id": format(link.context.trace_id, "032x"),
                    "span_id": format(link.context.span_id, "016x"),
                }
                for link in s.links
            ],
        }
        for s in exporter.get_finished_spans()
        if s.name.startswith("invoke_workflow")
    ]
    waits = []
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "locus.interrupt.wait":
                    waits.extend({"count": p.count, "sum": p.sum} for p in metric.data.data_points)
    print(json.dumps({"runs": runs, "waits": waits, "paused": result.is_interrupted}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
