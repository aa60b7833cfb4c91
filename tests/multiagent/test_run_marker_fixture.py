"""Snapshots paused by locus 0.1 (run-marker version 1) keep resuming in this release.

The fixture is frozen: if this test fails, the marker's format changed, and that change
needs a new ``MARKER_VERSION`` that still reads version 1, not a regenerated fixture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from locus.core import Command, interrupt
from locus.multiagent import END, START, StateGraph
from locus.multiagent.run_state import MARKER_VERSION, PAUSE_KEY

FIXTURE = Path(__file__).parent / "fixtures" / "run_marker_v1.json"


class Answer(BaseModel):
    approved: bool
    note: str | None = None


def marker_graph() -> StateGraph:
    """The graph that paused the fixture's snapshots (a join, a typed and a plain question)."""
    graph = StateGraph("marker-v1")

    def approve(state: dict[str, Any]) -> dict[str, Any]:
        first = interrupt({"question": "refund?"}, response_schema=Answer)
        second = interrupt({"question": "notify customer?"})
        return {"approved": first.approved, "notify": second}

    graph.add_node("prepare", lambda s: {"amount": 120})
    graph.add_node("audit", lambda s: {"audited": True})
    graph.add_node("approve", approve)
    graph.add_node("act", lambda s: {"result": "refunded" if s["approved"] else "declined"})
    graph.add_edge(START, "prepare").add_edge("prepare", "approve").add_edge("prepare", "audit")
    graph.add_edge("approve", "act").add_edge("audit", "act").add_edge("act", END)
    return graph


def frozen() -> dict[str, Any]:
    return dict(json.loads(FIXTURE.read_text(encoding="utf-8")))


def test_fixture_is_the_current_marker_version() -> None:
    assert frozen()["first_pause"][PAUSE_KEY]["version"] == MARKER_VERSION == 1


async def test_frozen_first_pause_resumes_to_the_frozen_second_pause() -> None:
    fixture = frozen()
    second = await marker_graph().execute(
        Command(update=fixture["first_pause"], resume={"approved": True})
    )
    assert second.interrupt is not None
    assert second.interrupt.interrupt.payload == {"question": "notify customer?"}
    assert (
        second.interrupt.interrupt.id == fixture["second_pause"][PAUSE_KEY]["interrupts"][0]["id"]
    )


async def test_frozen_second_pause_resumes_to_the_end_without_rerunning_finished_nodes() -> None:
    done = await marker_graph().execute(Command(update=frozen()["second_pause"], resume="yes"))
    assert not done.is_interrupted
    assert done.final_state == {
        "ticket": "T-42",
        "amount": 120,
        "audited": True,
        "approved": True,
        "notify": "yes",
        "result": "refunded",
    }
    assert done.path == ["approve", "act"]
