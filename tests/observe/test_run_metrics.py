"""Metrics of graph runs: run counters, step and node durations, the human wait."""

from __future__ import annotations

from typing import Any

import pytest
from telemetry import Telemetry

from locus.core import Command, interrupt
from locus.multiagent import END, START, StateGraph
from locus.observe import run as observed_run


def approval_graph() -> StateGraph:
    async def prepare(state: dict[str, Any]) -> dict[str, Any]:
        return {"amount": 120}

    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        return {"approved": interrupt({"question": "Refund $120?"}) == "yes"}

    graph = StateGraph("refunds")
    graph.add_node("prepare", prepare).add_node("approve", approve)
    graph.add_edge(START, "prepare").add_edge("prepare", "approve").add_edge("approve", END)
    return graph


async def test_wait_histogram_records_the_time_from_pause_to_answer(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000.0]
    monkeypatch.setattr(observed_run, "wall_clock", lambda: now[0])
    graph = approval_graph()
    paused = await graph.execute({})
    now[0] = 1_042.5  # the human answers 42.5 s later

    await graph.execute(Command(update=paused.final_state, resume="yes"))

    (wait,) = telemetry.points("locus.interrupt.wait")
    assert wait.count == 1
    assert wait.sum == pytest.approx(42.5)
    assert dict(wait.attributes) == {"locus.graph": "refunds", "locus.node": "approve"}
    (delay,) = telemetry.points("locus.interrupt.resume_delay")
    assert delay.count == 1
    assert dict(delay.attributes) == {"locus.graph": "refunds", "locus.node": "approve"}


async def test_runs_are_counted_and_steps_and_nodes_timed(telemetry: Telemetry) -> None:
    graph = approval_graph()
    paused = await graph.execute({})
    await graph.execute(Command(update=paused.final_state, resume="yes"))

    def total(name: str) -> int:
        return sum(p.value for p in telemetry.points(name))

    assert total("locus.runs.started") == 1
    assert total("locus.runs.paused") == 1
    assert total("locus.runs.resumed") == 1
    assert total("locus.runs.finished") == 1
    assert total("locus.runs.failed") == 0
    nodes = {
        (p.attributes["locus.node"], p.attributes["locus.node.outcome"]): p.count
        for p in telemetry.points("locus.node.duration")
    }
    assert nodes == {("prepare", "done"): 1, ("approve", "paused"): 1, ("approve", "done"): 1}
    assert sum(p.count for p in telemetry.points("locus.step.duration")) == 2


async def test_a_failed_run_is_counted_with_its_error_type(telemetry: Telemetry) -> None:
    from locus.errors import NodeExecutionError

    async def broken(state: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("customer")

    graph = StateGraph("broken").add_node("broken", broken)
    graph.add_edge(START, "broken").add_edge("broken", END)
    with pytest.raises(NodeExecutionError):
        await graph.execute({})

    (failed,) = telemetry.points("locus.runs.failed")
    assert failed.value == 1
    assert dict(failed.attributes) == {
        "locus.graph": "broken",
        "error.type": "NodeExecutionError",
    }
    assert telemetry.points("locus.runs.finished") == []
