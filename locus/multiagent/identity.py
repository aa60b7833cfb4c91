"""A graph's identity as stored with its threads: a fingerprint of its structure.

A thread paused on Monday may be resumed by Wednesday's code. The fingerprint covers the
nodes, the edges, the conditional edges and the qualified names of the code behind them,
plus the user's ``version=``; a stored thread whose fingerprint differs from the graph
resuming it was written by another shape of the graph, and the graph's
``on_graph_change`` policy decides what happens (see ``StateGraph``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from locus.core.journal import fingerprint
from locus.multiagent.plan import GraphPlan

__all__ = ["GraphIdentity", "Migration", "describe_change", "identify"]

#: ``(old_values, old_fingerprint) -> new_values``: moves a stored thread's state to a new
#: shape of its graph.
Migration = Callable[[dict[str, Any], str], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class GraphIdentity:
    """What a stored thread records about the graph that wrote it.

    Attributes:
        fingerprint: a digest of ``shape``.
        shape: JSON-shaped structure: ``nodes`` (name -> code), ``edges`` (``"a -> b"``),
            ``routers`` (``"a -> ? router"``) and ``version``.
        shape_text: ``shape`` as JSON text: how a paused thread stores it (one string is
            far cheaper to store at every pause than the structure itself).
    """

    fingerprint: str
    shape: dict[str, Any]
    shape_text: str


def identify(plan: GraphPlan, version: str | None) -> GraphIdentity:
    """The identity of ``plan`` at ``version``; an inner graph counts by its own fingerprint."""
    nodes: dict[str, str] = {}
    for name, spec in plan.nodes.items():
        if spec.subgraph is not None:
            inner = spec.subgraph.graph
            nodes[name] = f"graph {inner.name}@{inner.identity().fingerprint}"
        else:
            nodes[name] = _code_name(spec.fn)
    edges = sorted(f"{src} -> {dst}" for src, targets in plan.edges.items() for dst in targets)
    routers = sorted(
        f"{src} -> ? {_code_name(r.fn)}" + (f" {sorted(r.targets)}" if r.targets else "")
        for src, rs in plan.routers.items()
        for r in rs
    )
    shape = {"nodes": nodes, "edges": edges, "routers": routers, "version": version}
    return GraphIdentity(fingerprint(shape), shape, json.dumps(shape, sort_keys=True))


def describe_change(stored: Any, new: Mapping[str, Any]) -> str:
    """What changed between a stored shape (its JSON text) and ``new``, for an error message.

    The stored text is data read back from the store: anything unreadable just gives a
    message without details.
    """
    try:
        old = json.loads(stored) if isinstance(stored, str) else None
    except ValueError:
        old = None
    if not isinstance(old, Mapping):
        return "its structure changed (the stored thread records no details)"
    parts: list[str] = []
    stored_nodes = old.get("nodes")
    old_nodes: Mapping[str, Any] = stored_nodes if isinstance(stored_nodes, Mapping) else {}
    new_nodes: Mapping[str, Any] = new["nodes"]
    added = sorted(set(new_nodes) - set(old_nodes))
    removed = sorted(set(old_nodes) - set(new_nodes))
    recoded = sorted(n for n in set(new_nodes) & set(old_nodes) if new_nodes[n] != old_nodes[n])
    if added:
        parts.append(f"nodes added: {added}")
    if removed:
        parts.append(f"nodes removed: {removed}")
    if recoded:
        parts.append(f"nodes whose code changed: {recoded}")
    for key, label in (("edges", "edges"), ("routers", "conditional edges")):
        before, after = set(old.get(key) or ()), set(new[key])
        if after - before:
            parts.append(f"{label} added: {sorted(after - before)}")
        if before - after:
            parts.append(f"{label} removed: {sorted(before - after)}")
    if old.get("version") != new["version"]:
        parts.append(f"version {old.get('version')!r} -> {new['version']!r}")
    return "; ".join(parts) or "its structure changed"


def _code_name(fn: Any) -> str:
    """The function's qualified name. Not its module: the same file is ``__main__`` when run
    as a script and ``orders.graph`` when a worker imports it, and both are the same graph."""
    target = getattr(fn, "__func__", fn)
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    return str(qualname)
