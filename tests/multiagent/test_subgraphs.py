"""Subgraphs without a checkpointer: the paused snapshot carries the inner run."""

from __future__ import annotations

from typing import Any

import pytest

from locus.core import Command, interrupt
from locus.errors import GraphDefinitionError
from locus.multiagent import END, START, StateGraph


def inner_graph() -> StateGraph:
    inner = StateGraph("inner")

    def ask(state: dict[str, Any]) -> dict[str, Any]:
        return {"answer": interrupt("ok?"), "n": state["n"] + 1}

    inner.add_node("ask", ask).add_edge(START, "ask").add_edge("ask", END)
    return inner


async def test_snapshot_of_a_paused_subgraph_resumes_inside_it() -> None:
    outer = StateGraph("outer")
    outer.add_node("sub", inner_graph()).add_edge(START, "sub").add_edge("sub", END)
    paused = await outer.execute({"n": 1})
    assert paused.interrupt is not None and paused.interrupt.node_id == "sub/ask"
    done = await outer.execute(Command(update=paused.final_state, resume="yes"))
    assert done.final_state == {"n": 2, "answer": "yes"}


def test_a_graph_cannot_run_inside_itself() -> None:
    outer = StateGraph("outer")
    middle = StateGraph("middle")
    middle.add_node("outer", outer)
    with pytest.raises(GraphDefinitionError, match="cannot run inside itself"):
        outer.add_node("middle", middle)


def test_inputs_mapping_needs_a_subgraph() -> None:
    with pytest.raises(GraphDefinitionError, match="inputs= and outputs= apply only"):
        StateGraph("g").add_node("n", lambda s: None, inputs={"a": "b"})


def test_node_names_with_path_characters_are_refused() -> None:
    with pytest.raises(GraphDefinitionError, match="reserved"):
        StateGraph("g").add_node("a/b", lambda s: None)


async def test_a_breakpoint_inside_a_subgraph_pauses_the_outer_run_at_its_path() -> None:
    inner = StateGraph("inner")
    inner.add_node("a", lambda s: {"a": 1}).add_node("b", lambda s: {"b": 1})
    inner.add_edge(START, "a").add_edge("a", "b").add_edge("b", END)
    inner.compile(interrupt_before=["b"])
    outer = StateGraph("outer")
    outer.add_node("sub", inner).add_edge(START, "sub").add_edge("sub", END)
    paused = await outer.execute({})
    assert [(i.node_id, i.interrupt.payload["type"]) for i in paused.interrupts] == [
        ("sub/b", "interrupt_before")
    ]
    done = await outer.execute(Command(update=paused.final_state, resume=None))
    assert done.final_state == {"a": 1, "b": 1}
