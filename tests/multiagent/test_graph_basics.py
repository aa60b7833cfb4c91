"""Building and running graphs: order of nodes, updates, routing, reducers, sync nodes."""

from __future__ import annotations

import operator
from typing import Any

import pytest

from locus.core import Command
from locus.errors import GraphDefinitionError
from locus.multiagent import END, START, GraphResult, StateGraph


def linear(*names: str) -> StateGraph:
    graph = StateGraph("linear")
    for name in names:

        async def node(state: dict[str, Any], _name: str = name) -> dict[str, Any]:
            return {"trail": [*state.get("trail", []), _name]}

        graph.add_node(name, node)
    for a, b in zip([START, *names], [*names, END], strict=True):
        graph.add_edge(a, b)
    return graph


async def test_linear_chain_runs_nodes_in_order_and_merges_updates() -> None:
    result = await linear("a", "b", "c").execute({"trail": []})
    assert isinstance(result, GraphResult)
    assert result.final_state["trail"] == ["a", "b", "c"]
    assert result.path == ["a", "b", "c"]
    assert not result.is_interrupted
    assert result.interrupt is None
    assert result.interrupts == []
    assert result.steps == 3


async def test_inputs_are_not_mutated_and_nodes_get_their_own_copy() -> None:
    graph = StateGraph()

    async def mutate(state: dict[str, Any]) -> dict[str, Any]:
        state["scribble"] = True  # a node's local copy; not a state update
        return {"x": 2}

    graph.add_node("m", mutate).add_edge(START, "m").add_edge("m", END)
    inputs = {"x": 1}
    result = await graph.execute(inputs)
    assert inputs == {"x": 1}
    assert result.final_state == {"x": 2}


def test_plain_sync_nodes_and_none_returns_are_supported() -> None:
    graph = StateGraph()
    graph.add_node("sync", lambda state: {"n": state["n"] + 1})
    graph.add_node("noop", lambda state: None)
    graph.add_edge(START, "sync").add_edge("sync", "noop").add_edge("noop", END)
    assert graph.execute_sync({"n": 1}).final_state == {"n": 2}


async def test_conditional_edges_route_by_state_with_a_mapping() -> None:
    graph = StateGraph()
    graph.add_node("classify", lambda s: {"kind": "big" if s["amount"] > 100 else "small"})
    graph.add_node("big", lambda s: {"handled_by": "big"})
    graph.add_node("small", lambda s: {"handled_by": "small"})
    graph.add_edge(START, "classify")
    graph.add_conditional_edges("classify", lambda s: s["kind"], {"big": "big", "small": "small"})
    graph.add_edge("big", END).add_edge("small", END)
    assert (await graph.execute({"amount": 500})).final_state["handled_by"] == "big"
    assert (await graph.execute({"amount": 5})).final_state["handled_by"] == "small"


async def test_async_router_may_return_end() -> None:
    graph = StateGraph()
    graph.add_node("a", lambda s: {"a": 1}).add_node("b", lambda s: {"b": 1})
    graph.add_edge(START, "a")

    async def router(state: dict[str, Any]) -> str:
        return END if state.get("stop") else "b"

    graph.add_conditional_edges("a", router, ["b", END])
    graph.add_edge("b", END)
    assert (await graph.execute({"stop": True})).path == ["a"]
    assert (await graph.execute({})).path == ["a", "b"]


async def test_cycle_through_conditional_edge_runs_until_router_ends_it() -> None:
    graph = StateGraph()
    graph.add_node("inc", lambda s: {"n": s["n"] + 1})
    graph.add_edge(START, "inc")
    graph.add_conditional_edges("inc", lambda s: "inc" if s["n"] < 5 else END)
    result = await graph.execute({"n": 0})
    assert result.final_state["n"] == 5
    assert result.path == ["inc"] * 5


async def test_node_command_goto_routes_and_updates() -> None:
    graph = StateGraph()
    graph.add_node("decide", lambda s: Command(update={"picked": "y"}, goto="y"))
    graph.add_node("x", lambda s: {"ran": "x"})
    graph.add_node("y", lambda s: {"ran": "y"})
    graph.add_edge(START, "decide").add_edge("x", END).add_edge("y", END)
    result = await graph.execute({})
    assert result.final_state == {"picked": "y", "ran": "y"}
    assert result.path == ["decide", "y"]


async def test_reducer_applies_to_every_write_of_its_key() -> None:
    graph = StateGraph(reducers={"log": operator.add})
    graph.add_node("a", lambda s: {"log": ["a"]}).add_node("b", lambda s: {"log": ["b"]})
    graph.add_edge(START, "a").add_edge("a", "b").add_edge("b", END)
    assert (await graph.execute({"log": ["start"]})).final_state["log"] == ["start", "a", "b"]


async def test_compile_returns_the_graph_and_sets_config() -> None:
    graph = linear("a", "b")
    compiled = graph.compile(interrupt_before=["b"], max_steps=7)
    assert compiled is graph
    assert graph.config.interrupt_before == ["b"]
    assert graph.config.max_steps == 7
    result = await graph.execute({})
    assert result.is_interrupted and result.interrupt is not None
    assert result.interrupt.node_id == "b"


async def test_one_graph_serves_concurrent_runs() -> None:
    import asyncio

    graph = StateGraph()

    async def slow(state: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"out": state["inp"] * 2}

    graph.add_node("slow", slow).add_edge(START, "slow").add_edge("slow", END)
    results = await asyncio.gather(*(graph.execute({"inp": i}) for i in range(20)))
    assert [r.final_state["out"] for r in results] == [i * 2 for i in range(20)]


async def test_graph_can_be_extended_after_a_run() -> None:
    graph = linear("a")
    await graph.execute({})
    graph.add_node("late", lambda s: {"late": True})
    graph.add_edge("a", "late").add_edge("late", END)
    assert (await graph.execute({})).final_state["late"] is True
    graph.add_edge("late", "missing")
    with pytest.raises(GraphDefinitionError, match="'missing'"):
        await graph.execute({})


def test_graph_checkpointer_is_public_and_read_only() -> None:
    from locus.checkpoint import MemoryCheckpointer

    store = MemoryCheckpointer()
    graph = StateGraph("g", checkpointer=store)
    assert graph.checkpointer is store
    with pytest.raises(AttributeError):
        graph.checkpointer = MemoryCheckpointer()  # type: ignore[misc]
    other = MemoryCheckpointer()
    graph.add_node("a", lambda s: None).add_edge(START, "a").add_edge("a", END)
    assert graph.compile(checkpointer=other).checkpointer is other
