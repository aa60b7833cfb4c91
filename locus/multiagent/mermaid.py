"""Draw a graph as a Mermaid flowchart; a subgraph becomes a nested block."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from locus.multiagent.plan import END, START

if TYPE_CHECKING:
    from locus.multiagent.graph import StateGraph

__all__ = ["to_mermaid"]


def to_mermaid(graph: StateGraph) -> str:
    """The graph as Mermaid ``flowchart TD`` text (paste it into any Mermaid renderer).

    Plain edges are solid arrows, conditional edges dotted (labelled with the router's
    result when it maps results to nodes), and each subgraph a block holding its own
    nodes and edges, at any depth.

    Raises:
        GraphDefinitionError: the graph (or a subgraph) is malformed.
    """
    lines = ["flowchart TD"]
    _draw(graph, "", lines, "    ")
    return "\n".join(lines) + "\n"


def _draw(graph: StateGraph, prefix: str, lines: list[str], indent: str) -> None:
    plan = graph._prepare().plan

    def ident(name: str) -> str:
        return _safe(prefix + name)

    lines.append(f"{indent}{ident(START)}([start])")
    for name, spec in plan.nodes.items():
        if spec.subgraph is not None:
            lines.append(f'{indent}subgraph {ident(name)} ["{_label(name)}"]')
            lines.append(f"{indent}    direction TB")
            _draw(spec.subgraph.graph, f"{prefix}{name}/", lines, indent + "    ")
            lines.append(f"{indent}end")
        else:
            lines.append(f'{indent}{ident(name)}["{_label(name)}"]')
    lines.append(f"{indent}{ident(END)}([end])")
    for src, targets in plan.edges.items():
        for dst in targets:
            lines.append(f"{indent}{ident(src)} --> {ident(dst)}")
    for src, routers in plan.routers.items():
        for router in routers:
            if router.mapping is not None:
                for key, dst in router.mapping.items():
                    lines.append(f'{indent}{ident(src)} -.->|"{_label(str(key))}"| {ident(dst)}')
            elif router.targets is not None:
                for dst in sorted(router.targets):
                    lines.append(f"{indent}{ident(src)} -.-> {ident(dst)}")
            else:
                choice = ident(f"{src}?")
                lines.append(f'{indent}{choice}{{{{"{_label(src)} routes"}}}}')
                lines.append(f"{indent}{ident(src)} -.-> {choice}")


def _safe(name: str) -> str:
    return "n_" + re.sub(r"[^0-9A-Za-z_]", lambda m: f"_{ord(m.group()):x}_", name)


def _label(text: str) -> str:
    return text.replace('"', "#quot;")
