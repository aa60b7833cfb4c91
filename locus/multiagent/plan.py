"""The compiled, validated form of a ``StateGraph``: pure data, no run state.

Building a plan checks the whole graph before anything runs (unknown nodes on edges, no
entry from START, unknown router targets) and precomputes what the runtime needs per step:
successors, routers, which nodes are joins (several static incoming edges) and, for each
join, which nodes could still deliver a missing predecessor.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from locus.errors import GraphDefinitionError

if TYPE_CHECKING:
    from locus.multiagent.subgraph import Subgraph

__all__ = ["END", "START", "GraphPlan", "NodeSpec", "Router", "RunPlan", "build_plan"]

START = "__start__"
END = "__end__"


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """A node: its name, function, and whether calling it returns an awaitable.

    ``subgraph`` is set when the node runs an inner graph (``fn`` is then that graph).
    """

    name: str
    fn: Callable[..., Any]
    is_async: bool
    subgraph: Subgraph | None = None


@dataclass(frozen=True, slots=True)
class Router:
    """A conditional edge: ``fn(state)`` names the next node(s), maybe through ``mapping``.

    ``targets`` is every node the router may choose, or ``None`` when undeclared.
    """

    source: str
    fn: Callable[..., Any]
    is_async: bool
    mapping: Mapping[Any, str] | None
    targets: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class GraphPlan:
    """Everything the runtime reads while running; built once per graph version."""

    name: str
    nodes: Mapping[str, NodeSpec]
    order: Mapping[str, int]
    edges: Mapping[str, tuple[str, ...]]
    routers: Mapping[str, tuple[Router, ...]]
    join_preds: Mapping[str, frozenset[str]]
    upstream: Mapping[tuple[str, str], frozenset[str]]
    reducers: Mapping[str, Callable[[Any, Any], Any]]
    #: per node whose only way on is one static edge (no router, no join anywhere in the
    #: graph): that edge's target (``END`` included), so most steps route with one lookup
    only_edge: Mapping[str, str] = field(default_factory=dict)

    def check_breakpoints(self, before: Sequence[str], after: Sequence[str]) -> None:
        """Raise ``GraphDefinitionError`` if a breakpoint names a node the graph lacks."""
        for kind, names in (("interrupt_before", before), ("interrupt_after", after)):
            for name in names:
                if name not in self.nodes:
                    raise GraphDefinitionError(
                        f"graph {self.name!r}: {kind} names unknown node {name!r}; "
                        f"nodes are {sorted(self.nodes)}"
                    )


@dataclass(frozen=True, slots=True)
class RunPlan:
    """A validated plan with the run options read at the start of an ``execute``.

    Attributes:
        plan: the graph's structure.
        before: nodes to pause before (static breakpoints).
        after: nodes to pause after.
        max_steps: the most steps one run may take.
    """

    plan: GraphPlan
    before: frozenset[str]
    after: frozenset[str]
    max_steps: int


def is_async_callable(fn: Callable[..., Any]) -> bool:
    """True for coroutine functions, including objects with an ``async __call__``."""
    call = getattr(fn, "__call__", None)  # noqa: B004 - we need the bound __call__ itself
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def build_plan(
    name: str,
    nodes: Mapping[str, NodeSpec],
    edges: Sequence[tuple[str, str]],
    routers: Sequence[Router],
    reducers: Mapping[str, Callable[[Any, Any], Any]],
) -> GraphPlan:
    """Validate a graph's parts and precompute its plan.

    Raises:
        GraphDefinitionError: naming the edge, router or node at fault.
    """
    known = set(nodes)
    succ: dict[str, list[str]] = {}
    for src, dst in edges:
        _check_endpoint(name, src, dst, known)
        targets = succ.setdefault(src, [])
        if dst not in targets:
            targets.append(dst)
    by_source: dict[str, list[Router]] = {}
    for router in routers:
        if router.source != START and router.source not in known:
            raise GraphDefinitionError(
                f"graph {name!r}: conditional edge from unknown node {router.source!r}"
            )
        for target in router.targets or ():
            if target != END and target not in known:
                raise GraphDefinitionError(
                    f"graph {name!r}: conditional edge from {router.source!r} may route to "
                    f"unknown node {target!r}"
                )
        by_source.setdefault(router.source, []).append(router)
    if START not in succ and START not in by_source:
        raise GraphDefinitionError(
            f"graph {name!r} has no entry point: add an edge from START, "
            "e.g. graph.add_edge(START, 'first_node')"
        )
    preds: dict[str, set[str]] = {}
    for src, targets in succ.items():
        for dst in targets:
            preds.setdefault(dst, set()).add(src)
    join_preds = {n: frozenset(p) for n, p in preds.items() if len(p) > 1 and n != END}
    order = {n: i for i, n in enumerate(nodes)}
    return GraphPlan(
        name=name,
        nodes=dict(nodes),
        order=order,
        edges={src: tuple(t) for src, t in succ.items()},
        routers={src: tuple(r) for src, r in by_source.items()},
        join_preds=join_preds,
        upstream=_upstream_sets(join_preds, succ, by_source, known),
        reducers=dict(reducers),
        only_edge={}
        if join_preds
        else {
            src: targets[0]
            for src, targets in succ.items()
            if len(targets) == 1 and src not in by_source
        },
    )


def _check_endpoint(graph: str, src: str, dst: str, known: set[str]) -> None:
    if src == END:
        raise GraphDefinitionError(f"graph {graph!r}: edge {src!r} -> {dst!r} starts at END")
    if dst == START:
        raise GraphDefinitionError(f"graph {graph!r}: edge {src!r} -> {dst!r} points at START")
    for end in (src, dst):
        if end not in known and end not in (START, END):
            raise GraphDefinitionError(
                f"graph {graph!r}: edge {src!r} -> {dst!r} names unknown node {end!r}; "
                f"add it with add_node first (nodes: {sorted(known)})"
            )


def _upstream_sets(
    join_preds: Mapping[str, frozenset[str]],
    succ: Mapping[str, list[str]],
    routers: Mapping[str, list[Router]],
    known: set[str],
) -> dict[tuple[str, str], frozenset[str]]:
    """For each join J and predecessor P: the nodes that can reach P without passing J.

    While any of them is still scheduled, P may yet arrive, so J keeps waiting for it.
    A router with undeclared targets may go anywhere, so it reaches every node.
    """
    if not join_preds:
        return {}
    back: dict[str, set[str]] = {}
    for src, targets in succ.items():
        for dst in targets:
            back.setdefault(dst, set()).add(src)
    for src, rs in routers.items():
        for router in rs:
            for dst in router.targets if router.targets is not None else known:
                back.setdefault(dst, set()).add(src)
    result: dict[tuple[str, str], frozenset[str]] = {}
    for join, preds in join_preds.items():
        for pred in preds:
            seen = {pred}
            todo = [pred]
            while todo:
                for parent in back.get(todo.pop(), ()):
                    if parent != join and parent not in seen:
                        seen.add(parent)
                        todo.append(parent)
            result[(join, pred)] = frozenset(seen)
    return result
