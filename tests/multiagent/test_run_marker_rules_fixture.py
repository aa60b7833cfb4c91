"""A snapshot paused at an interrupt with rules (answerers, deadline, on_timeout) keeps
resuming, and keeps its rules: the ``ask`` entry of run-marker version 1 is frozen here.

If this test fails the marker's format changed; that needs a new ``MARKER_VERSION`` that
still reads this fixture, not a regenerated fixture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from locus.core import Command, interrupt
from locus.errors import AnswerNotAllowedError
from locus.inbox import Actor, Answerers
from locus.multiagent import END, START, StateGraph

FIXTURE = Path(__file__).parent / "fixtures" / "run_marker_v1_with_rules.json"


def fixture_graph() -> StateGraph:
    graph = StateGraph("marker-fixture")

    def approve(state: dict[str, Any]) -> dict[str, Any]:
        return {"decision": interrupt({"refund": state["amount"]})}

    graph.add_node("approve", approve).add_edge(START, "approve").add_edge("approve", END)
    return graph


async def test_a_frozen_snapshot_with_rules_resumes_for_an_allowed_actor_only() -> None:
    snapshot = json.loads(FIXTURE.read_text())
    graph = fixture_graph()
    with pytest.raises(AnswerNotAllowedError, match="'bob'"):
        await graph.execute(Command(update=snapshot, resume="yes", actor=Actor("bob")))
    done = await graph.execute(Command(update=snapshot, resume="yes", actor=Actor("ann")))
    assert done.final_state == {"amount": 1200, "decision": "yes"}


def test_the_frozen_rules_still_load() -> None:
    from locus.inbox.rules import Ask

    marker = json.loads(FIXTURE.read_text())["_locus_pause"]
    ask = Ask.load(marker["interrupts"][0]["ask"])
    assert ask.answerers == Answerers(users={"ann"})
    assert ask.deadline == 1893456000.0
    assert ask.on_timeout == {"kind": "value", "value": "no"}
