"""Map fan-out with ``Send``: one branch per item, pausing branch by branch, on every backend."""

from __future__ import annotations

import operator
from collections import Counter
from typing import Any

import pytest
from checkpoint_backends import Backend

from locus.core import Command, interrupt
from locus.errors import InvalidNodeOutputError
from locus.multiagent import END, START, Send, StateGraph


def order_review(
    backend: Backend | None, ran: Counter[int], *, needs_approval: set[int]
) -> StateGraph:
    """split -> review[i] per order line (some ask a human) -> total."""
    graph = StateGraph(
        "order-review",
        reducers={"reviews": operator.add},
        checkpointer=backend.make() if backend is not None else None,
    )

    def split(state: dict[str, Any]) -> dict[str, Any]:
        return {"count": len(state["lines"])}

    def review(line: dict[str, Any]) -> dict[str, Any]:
        ran[line["n"]] += 1
        verdict = interrupt({"line": line["n"]}) if line["n"] in needs_approval else "auto"
        return {"reviews": [(line["n"], verdict)]}

    def total(state: dict[str, Any]) -> dict[str, Any]:
        return {"reviewed": len(state["reviews"])}

    def per_line(state: dict[str, Any]) -> list[Send]:
        return [Send("review", {"n": n}) for n in state["lines"]]

    graph.add_node("split", split).add_node("review", review).add_node("total", total)
    graph.add_edge(START, "split").add_conditional_edges("split", per_line, ["review"])
    graph.add_edge("review", "total").add_edge("total", END)
    return graph


async def test_send_runs_one_branch_per_item_and_gathers_in_item_order() -> None:
    ran: Counter[int] = Counter()
    done = await order_review(None, ran, needs_approval=set()).execute({"lines": [5, 3, 9]})
    assert done.final_state["reviews"] == [(5, "auto"), (3, "auto"), (9, "auto")]
    assert done.final_state["reviewed"] == 3
    assert done.path == ["split", "review[0]", "review[1]", "review[2]", "total"]


async def test_paused_branch_is_named_by_its_index_and_others_are_kept(backend: Backend) -> None:
    ran: Counter[int] = Counter()
    paused = await order_review(backend, ran, needs_approval={30}).execute(
        {"lines": [10, 20, 30, 40]}, thread_id="o"
    )
    assert [(i.node_id, i.interrupt.payload) for i in paused.interrupts] == [
        ("review[2]", {"line": 30})
    ]
    done = await order_review(backend, ran, needs_approval={30}).execute(
        Command(resume="ok"), thread_id="o"
    )
    assert done.final_state["reviews"] == [(10, "auto"), (20, "auto"), (30, "ok"), (40, "auto")]
    assert ran == Counter({10: 1, 20: 1, 30: 2, 40: 1})


async def test_fanout_of_200_with_20_paused_answered_in_two_batches(backend: Backend) -> None:
    ran: Counter[int] = Counter()
    asks = set(range(0, 200, 10))
    lines = list(range(200))
    paused = await order_review(backend, ran, needs_approval=asks).execute(
        {"lines": lines}, thread_id="big"
    )
    ids = {i.interrupt.payload["line"]: i.interrupt.id for i in paused.interrupts}
    assert sorted(ids) == sorted(asks)
    assert {i.node_id for i in paused.interrupts} == {f"review[{n}]" for n in asks}
    first = sorted(asks)[:10]
    half = await order_review(backend, ran, needs_approval=asks).execute(
        Command(resume_by_id={ids[n]: f"ok-{n}" for n in first}), thread_id="big"
    )
    # the other ten are still pending, with the same ids
    assert {i.interrupt.id for i in half.interrupts} == {ids[n] for n in asks - set(first)}
    done = await order_review(backend, ran, needs_approval=asks).execute(
        Command(resume_by_id={ids[n]: f"ok-{n}" for n in asks - set(first)}), thread_id="big"
    )
    assert done.final_state["reviewed"] == 200
    assert done.final_state["reviews"] == [(n, f"ok-{n}" if n in asks else "auto") for n in lines]
    # every auto branch ran once; every asking branch once per pause it answered
    assert all(ran[n] == (2 if n in asks else 1) for n in lines)


async def test_send_to_an_unknown_node_is_refused_naming_it() -> None:
    graph = StateGraph("bad-send")
    graph.add_node("a", lambda s: None)
    graph.add_edge(START, "a").add_conditional_edges("a", lambda s: [Send("nope", {})])
    with pytest.raises(InvalidNodeOutputError, match="Send\\('nope'"):
        await graph.execute({})
