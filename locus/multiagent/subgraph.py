"""A compiled ``StateGraph`` running as one node of another graph.

The inner graph runs as a run of its own inside the outer node: its own steps, pauses and
journals. When it pauses, its run (values and marker) is kept in the outer run under the
node's name, and each of its pending interrupts is raised to the outer run under a path
(``refund/approve``; deeper graphs give ``order/refund/approve``). An answer to such a path
waits in the outer run's answers until the node runs again, which resumes the inner run
where it stopped: nothing that finished inside it runs again.

The inner graph's own checkpointer is not used: the outer thread stores the whole tree
under one lease.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from locus.core.command import Command
from locus.multiagent.run_state import PAUSE_KEY, PendingInterrupt, RunState, interrupt_id

if TYPE_CHECKING:
    from locus.core.interrupt import NodeContext
    from locus.multiagent.graph import StateGraph

__all__ = ["SEP", "Subgraph", "run_subgraph", "top_node"]

#: separates the levels of an interrupt's path: ``refund/approve``
SEP = "/"


def top_node(path: str) -> str:
    """The outer node (or branch, ``review[3]``) an interrupt path starts with."""
    return path.split(SEP, 1)[0]


@dataclass(frozen=True, slots=True)
class Subgraph:
    """How a graph node runs an inner graph.

    Attributes:
        graph: the inner graph.
        inputs: outer key -> inner key, the state the inner run starts with; ``None``
            passes the outer state as it is.
        outputs: inner key -> outer key, what the node returns; ``None`` returns every key
            the inner run wrote (changed or added).
    """

    graph: StateGraph
    inputs: Mapping[str, str] | None = None
    outputs: Mapping[str, str] | None = None

    def start_values(self, view: dict[str, Any]) -> dict[str, Any]:
        """The inner run's initial state, from the outer node's view."""
        if self.inputs is None:
            return view
        return {inner: view[outer] for outer, inner in self.inputs.items() if outer in view}

    def update(self, view: Mapping[str, Any], final: Mapping[str, Any]) -> dict[str, Any]:
        """The outer node's update, from its view of the outer state and the inner result."""
        if self.outputs is not None:
            return {outer: final[inner] for inner, outer in self.outputs.items() if inner in final}
        start = self.start_values(dict(view))
        return {k: v for k, v in final.items() if k not in start or _changed(start[k], v)}


def _changed(old: Any, new: Any) -> bool:
    if old is new:
        return False
    try:
        return type(old) is not type(new) or not bool(old == new)
    except Exception:  # an __eq__ that raises or has no truth value: treat it as changed
        return True


async def run_subgraph(
    sub: Subgraph,
    name: str,
    view: dict[str, Any],
    rs: RunState,
    ctx: NodeContext,
) -> dict[str, Any] | list[PendingInterrupt]:
    """Run (or resume) the inner graph of node ``name``.

    Returns:
        The node's update when the inner run finished, or its pending interrupts with their
        paths (the inner run is then kept in ``rs.subruns``).

    Raises:
        Whatever the inner run raises (``GraphDefinitionError``, ``NodeExecutionError``...).
    """
    from locus.multiagent.runtime import Execution

    inner = Execution(sub.graph._prepare(), emit=ctx.emit)
    prefix = name + SEP
    kept = rs.subruns.pop(name, None)
    if kept is None:
        values = dict(sub.start_values(view))
        inner_rs = RunState(run_id=interrupt_id(rs.run_id, rs.step, name, "subgraph"))
        result = await inner.start(values, inner_rs)
    else:
        values = dict(kept["values"])
        inner_rs = RunState.from_marker(kept["run"])
        answers: dict[str, Any] = {}
        for p in inner_rs.pending:
            given = rs.answers.get(prefix + p.node)
            if given is not None and p.index in given:
                answers[p.id] = given.pop(p.index)
        for key in [k for k, v in rs.answers.items() if k.startswith(prefix) and not v]:
            del rs.answers[key]
        result = await inner.resume(values, inner_rs, Command(resume_by_id=answers))
    if not result.is_interrupted:
        return sub.update(view, result.final_state)
    final = dict(result.final_state)
    marker = final.pop(PAUSE_KEY)
    rs.subruns[name] = {"values": final, "run": marker}
    return [
        PendingInterrupt(
            id=p.id,
            node=prefix + p.node,
            index=p.index,
            payload=p.payload,
            schema=p.schema,
            ask=p.ask,
        )
        for p in inner_rs.pending
    ]
