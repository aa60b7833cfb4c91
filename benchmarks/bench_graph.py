"""Graph runtime overhead: per node, per interrupt round trip, wide state, parallel branches,
a subgraph node, and a 200-way ``Send`` fan-out (all branches, and 20 paused then answered).

The per-node cost is measured with tracing off (the default: no tracer provider set) and
with an OpenTelemetry SDK tracer provider whose exporter drops every span (the cost of
making spans, not of shipping them); that line needs ``opentelemetry-sdk``.

Run: python benchmarks/bench_graph.py
Prints one line per measurement. The nodes do no work, so the numbers are the runtime's own
cost. Each figure is the best of several repeats (least disturbed by other processes).
"""

from __future__ import annotations

import asyncio
import operator
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from timing import best_us

from locus.core import Command, interrupt
from locus.multiagent import END, START, Send, StateGraph


def chain(n: int, *, state_keys: int = 0) -> StateGraph:
    graph = StateGraph(f"chain-{n}")
    graph.config.max_steps = n + 1

    def make(i: int) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
        async def node(state: dict[str, Any]) -> dict[str, Any]:
            return {"i": i}

        return node

    names = [f"n{i}" for i in range(n)]
    for i, name in enumerate(names):
        graph.add_node(name, make(i))
    for a, b in zip([START, *names], [*names, END], strict=True):
        graph.add_edge(a, b)
    return graph


def approval_graph() -> StateGraph:
    graph = StateGraph("round-trip")

    async def prepare(state: dict[str, Any]) -> dict[str, Any]:
        return {"prepared": True}

    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        return {"answer": interrupt({"question": "ok?"})}

    async def act(state: dict[str, Any]) -> dict[str, Any]:
        return {"done": state["answer"] == "yes"}

    graph.add_node("prepare", prepare).add_node("approve", approve).add_node("act", act)
    graph.add_edge(START, "prepare").add_edge("prepare", "approve")
    graph.add_edge("approve", "act").add_edge("act", END)
    return graph


async def main() -> None:
    for n in (4, 16, 64):
        graph = chain(n)
        per_run = await best_us(lambda g=graph: g.execute({"x": 1}), max(200, 20000 // n))
        print(f"linear chain, {n:>2} nodes:        {per_run / n:7.2f} µs per node")

    await traced_per_node()

    graph = approval_graph()

    async def round_trip() -> None:
        paused = await graph.execute({"request": "r"})
        done = await graph.execute(Command(update=paused.final_state, resume="yes"))
        assert done.final_state["done"] is True

    print(f"interrupt round trip (3 nodes): {await best_us(round_trip, 5000):7.2f} µs")

    wide = chain(8)
    state: dict[str, Any] = {f"k{i}": i for i in range(1000)}
    state["blob"] = "x" * 1_000_000
    per_run = await best_us(lambda: wide.execute(state), 2000)
    print(f"8-node chain, 1 MB + 1,000 keys: {per_run:7.2f} µs per execute")

    parallel = StateGraph("parallel")

    def sleeper(i: int) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
        async def node(state: dict[str, Any]) -> dict[str, Any]:
            await asyncio.sleep(0.010)
            return {f"b{i}": True}

        return node

    for i in range(8):
        parallel.add_node(f"b{i}", sleeper(i))
        parallel.add_edge(START, f"b{i}")
        parallel.add_edge(f"b{i}", END)
    start = time.perf_counter()
    await parallel.execute({})
    print(f"8 parallel branches x 10 ms:    {(time.perf_counter() - start) * 1e3:7.2f} ms wall")

    await composed()

    print(f"import locus.multiagent (fresh): {import_ms():7.2f} ms")


async def composed() -> None:
    """A 4-node chain run as a subgraph node, and a 200-way Send fan-out."""
    outer = StateGraph("outer")
    outer.add_node("sub", chain(4)).add_edge(START, "sub").add_edge("sub", END)
    per_run = await best_us(lambda: outer.execute({"x": 1}), 2000)
    print(f"subgraph node (4-node chain):   {per_run:7.2f} µs per execute")

    asks = set(range(0, 200, 10))
    fan = StateGraph("fan", reducers={"out": operator.add})

    def review(item: dict[str, Any]) -> dict[str, Any]:
        if item["ask"]:
            return {"out": [interrupt(item["n"])]}
        return {"out": [item["n"]]}

    fan.add_node("split", lambda s: None).add_node("review", review)
    fan.add_edge(START, "split").add_edge("review", END)
    fan.add_conditional_edges(
        "split",
        lambda s: [Send("review", {"n": n, "ask": s["ask"] and n in asks}) for n in range(200)],
        ["review"],
    )
    per_run = await best_us(lambda: fan.execute({"ask": False}), 50)
    print(f"200-way fan-out:                {per_run / 1e3:7.2f} ms per execute")

    async def paused_and_answered() -> None:
        paused = await fan.execute({"ask": True})
        ids = [i.interrupt.id for i in paused.interrupts]
        half = await fan.execute(
            Command(update=paused.final_state, resume_by_id=dict.fromkeys(ids[:10], 1))
        )
        await fan.execute(Command(update=half.final_state, resume_by_id=dict.fromkeys(ids[10:], 1)))

    per_run = await best_us(paused_and_answered, 20)
    print(f"200-way, 20 paused, 2 batches:  {per_run / 1e3:7.2f} ms")


async def traced_per_node() -> None:
    """The linear chain again with an SDK tracer provider and a no-op exporter."""
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            SimpleSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )
    except ImportError:
        print("traced chain: skipped (pip install opentelemetry-sdk)")
        return

    from locus import observe

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Drop()))
    observe.configure(tracer_provider=provider)
    try:
        for n in (4, 16, 64):
            graph = chain(n)
            per_run = await best_us(lambda g=graph: g.execute({"x": 1}), max(100, 5000 // n))
            print(f"linear chain, {n:>2} nodes, traced: {per_run / n:7.2f} µs per node")
    finally:
        observe.configure()
        provider.shutdown()


def import_ms() -> float:
    """Best of five fresh interpreters timing ``from locus.multiagent import StateGraph``."""
    code = "import time; t=time.perf_counter(); from locus.multiagent import StateGraph; "
    code += "print((time.perf_counter()-t)*1e3)"
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(5)
    ]
    return min(runs)


if __name__ == "__main__":
    asyncio.run(main())
