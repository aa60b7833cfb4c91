"""The bookkeeping of one graph run, and the snapshot marker that carries it across a pause.

A paused ``GraphResult.final_state`` is the state values plus one extra key, ``PAUSE_KEY``,
whose value (the marker) is plain JSON-shaped data: the step, the nodes of the paused step,
the updates of nodes that already finished in it, the answers each node has received so
far and the pending interrupts. That is all a newly built graph in another process needs to
resume. The key does not start with ``__`` so that a snapshot stored as JSON keeps it while
runtime values such as ``__model__`` are dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from locus.core.interrupt import Interrupt, InterruptState
from locus.errors import (
    CheckpointError,
    InvalidInputError,
    NothingToResumeError,
    SchemaVersionError,
)

if TYPE_CHECKING:
    from locus.multiagent.identity import GraphIdentity

__all__ = [
    "MARKER_VERSION",
    "PAUSE_KEY",
    "PauseKind",
    "PendingInterrupt",
    "RunState",
    "interrupt_id",
]

PAUSE_KEY = "_locus_pause"
MARKER_VERSION = 1

PauseKind = Literal["interrupt", "interrupt_before", "interrupt_after"]


def interrupt_id(run_id: str, step: int, node: str, index: int | str) -> str:
    """A stable id for one interrupt: the same run, step, node and call index give the same id."""
    key = f"{run_id}:{step}:{node}:{index}".encode()
    return hashlib.blake2b(key, digest_size=8).hexdigest()


@dataclass(slots=True)
class PendingInterrupt:
    """An interrupt waiting for an answer. ``index`` is -1 for a static breakpoint."""

    id: str
    node: str
    index: int
    payload: Any
    schema: dict[str, Any] | None = None
    #: who may answer, the deadline and what happens then (``locus.inbox.rules``); None
    #: when ``interrupt()`` declared none
    ask: dict[str, Any] | None = None

    def public(self) -> InterruptState:
        """The user-facing form: ``InterruptState(node_id, Interrupt(id, payload, ...))``."""
        return InterruptState(self.node, Interrupt(self.id, self.payload, self.index, self.schema))

    def to_json(self) -> dict[str, Any]:
        """Plain data for the snapshot marker and checkpointers."""
        out = {
            "id": self.id,
            "node": self.node,
            "index": self.index,
            "payload": self.payload,
            "schema": self.schema,
        }
        if self.ask is not None:
            out["ask"] = self.ask
        return out


@dataclass(slots=True)
class RunState:
    """Where a run is: the step about to run (``frontier``) and what the step holds so far.

    Attributes:
        run_id: random per run; part of every interrupt id.
        step: how many steps the run has completed.
        frontier: the nodes of the current step, in graph order.
        arrived: for join nodes still waiting, the predecessors that have finished.
        done: nodes of the current step that finished before a pause: (update, goto).
        answers: answers each node has received, by ``interrupt()`` index.
        pending: interrupts waiting for an answer.
        journals: per paused node, the work it recorded (see ``locus.core.journal``).
        subruns: per node that runs an inner graph and paused in the current step, the
            inner run: ``{"values": ..., "run": marker}`` (see ``locus.multiagent.subgraph``).
        sends: per branch of the current step made by a ``Send`` (``review[3]``), the
            branch's state; dropped as each branch finishes.
        kind: why the run is paused, or ``None`` while it runs.
        spent: per node that finished in the current step, the work it recorded. Never
            stored with the step; kept so that a step whose checkpoint cannot be written
            can still record the actions its nodes took (see ``locus.multiagent.durable``).
        answered: the interrupt ids this execution's resume answered; stored with its
            checkpoints so that a later resume of the same ids is told another execution
            answered them. Never read back: each execution records its own.
        audit: what changed a stored thread outside its nodes, oldest first, carried from
            checkpoint to checkpoint: ``{"kind": "migration", "from": fingerprint, "to":
            fingerprint, ...}``, ``{"kind": "update_state", "actor": ..., "keys": [...]}``,
            ``{"kind": "fork", "from_thread": ..., "from_checkpoint": N}``, each with ``at``.
        trace: where observability left the run (``locus.observe.links``): the span
            context of the execution that paused or ran it, and the time of the pause.
            Only written while something observes; plain JSON, read back defensively.
    """

    run_id: str
    step: int = 0
    frontier: list[str] = field(default_factory=list)
    arrived: dict[str, set[str]] = field(default_factory=dict)
    done: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = field(default_factory=dict)
    answers: dict[str, dict[int, Any]] = field(default_factory=dict)
    pending: list[PendingInterrupt] = field(default_factory=list)
    journals: dict[str, dict[str, Any]] = field(default_factory=dict)
    subruns: dict[str, dict[str, Any]] = field(default_factory=dict)
    sends: dict[str, dict[str, Any]] = field(default_factory=dict)
    kind: PauseKind | None = None
    spent: dict[str, dict[str, Any]] = field(default_factory=dict)
    trace: dict[str, Any] | None = None
    answered: list[str] | None = None
    audit: list[dict[str, Any]] = field(default_factory=list)

    def to_marker(self, graph: str, identity: GraphIdentity | None = None) -> dict[str, Any]:
        """The JSON-shaped marker stored under ``PAUSE_KEY`` in a paused snapshot.

        With ``identity`` (a stored thread's), the marker records the graph's fingerprint,
        and its structure too when the run pauses.
        """
        marker: dict[str, Any] = {
            "version": MARKER_VERSION,
            "graph": graph,
            "run_id": self.run_id,
            "step": self.step,
            "kind": self.kind,
            "frontier": list(self.frontier),
            "arrived": {node: sorted(srcs) for node, srcs in self.arrived.items()},
            "done": {
                node: {"update": update, "goto": list(goto)}
                for node, (update, goto) in self.done.items()
            },
            "answers": {
                node: {str(i): value for i, value in answers.items()}
                for node, answers in self.answers.items()
            },
            "interrupts": [p.to_json() for p in self.pending],
            "journals": self.journals,
        }
        if self.subruns:
            marker["subruns"] = self.subruns
        if self.sends:
            marker["sends"] = self.sends
        if self.trace is not None:
            marker["trace"] = self.trace
        if self.answered is not None:
            marker["answered"] = self.answered
        if identity is not None:
            marker["fingerprint"] = identity.fingerprint
            if self.kind is not None:
                # what a resume compares against to say what changed
                marker["shape"] = identity.shape_text
        if self.audit:
            marker["audit"] = self.audit
        return marker

    @classmethod
    def from_marker(
        cls, marker: Any, *, paused: bool = True, thread_id: str | None = None
    ) -> RunState:
        """Rebuild a run from its marker.

        Args:
            marker: the data ``to_marker`` produced (possibly after a JSON round trip).
            paused: require the marker to record a pause (the default, for resumes).
            thread_id: the stored thread the marker was read from; ``None`` for a snapshot
                the caller passed in ``Command(update=...)``. Errors name where it came from.

        Raises:
            NothingToResumeError: when ``paused`` and the marker records no pause.
            SchemaVersionError: the marker was written with a version this release cannot
                read (a snapshot or thread from another release of locus).
            InvalidInputError: a snapshot's marker is malformed.
            CheckpointError: a stored thread's marker is malformed.
        """
        where = (
            f"the snapshot's {PAUSE_KEY!r} entry"
            if thread_id is None
            else f"the stored run of thread {thread_id!r}"
        )
        if not isinstance(marker, dict):
            raise _malformed(thread_id, f"{where} must be a dict, got {type(marker).__name__}")
        version = marker.get("version")
        if version != MARKER_VERSION:
            raise SchemaVersionError(
                f"{where} has run-marker version {version!r}; this release of locus reads "
                f"version {MARKER_VERSION}. Resume it with the release that paused it"
            )
        try:
            arrived, done, answers = marker["arrived"], marker["done"], marker["answers"]
            journals = marker.get("journals")
            state = cls(
                run_id=str(marker["run_id"]),
                step=int(marker["step"]),
                kind=marker["kind"],
                frontier=[str(n) for n in marker["frontier"]],
                # the empty case is the common one; skip building empty comprehensions
                arrived={n: set(srcs) for n, srcs in arrived.items()} if arrived else {},
                done={n: (dict(d["update"]), tuple(d["goto"])) for n, d in done.items()}
                if done
                else {},
                answers={n: {int(i): v for i, v in a.items()} for n, a in answers.items()}
                if answers
                else {},
                pending=[
                    PendingInterrupt(
                        id=str(p["id"]),
                        node=str(p["node"]),
                        index=int(p["index"]),
                        payload=p["payload"],
                        schema=p.get("schema"),
                        ask=p.get("ask"),
                    )
                    for p in marker["interrupts"]
                ],
                journals={n: dict(j) for n, j in journals.items()} if journals else {},
                trace=marker.get("trace"),
            )
            # written only when the run has them (subgraphs, Send branches, edits)
            if "subruns" in marker:
                state.subruns = {n: dict(r) for n, r in marker["subruns"].items()}
            if "sends" in marker:
                state.sends = {n: dict(p) for n, p in marker["sends"].items()}
            if "audit" in marker:
                state.audit = [dict(m) for m in marker["audit"]]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _malformed(thread_id, f"{where} is malformed ({exc!r})") from exc
        if paused and (state.kind is None or not state.pending):
            raise NothingToResumeError(
                f"{where} records no pending interrupt, so there is nothing to resume"
            )
        return state

    def names_only(self, nodes: Mapping[str, Any]) -> bool:
        """True when the run refers only to ``nodes``, by their plain names.

        Then ``nodes_named`` (paths and branches cut to their outer node) has nothing to
        report, so a resume need not build it.
        """
        for name in self.frontier:
            if name not in nodes:
                return False
        for p in self.pending:
            if p.node not in nodes:
                return False
        return not self.arrived and not self.done

    def nodes_named(self) -> set[str]:
        """Every node the run state refers to, to check against the graph on resume."""
        names = set(self.frontier)
        if self.arrived:
            names.update(self.arrived)
            for srcs in self.arrived.values():
                names.update(srcs)
        names.update(self.done)
        names.update(p.node for p in self.pending)
        joined = "\0".join(names)
        if "/" in joined or "[" in joined:
            # paths (refund/approve) and branches (review[3]) name their outer node first
            return {n.split("/", 1)[0].split("[", 1)[0] for n in names}
        return names


def _malformed(thread_id: str | None, problem: str) -> Exception:
    if thread_id is None:
        return InvalidInputError(
            f"{problem}; pass result.final_state back unchanged apart from your own state keys"
        )
    return CheckpointError(f"{problem}; the stored record is damaged")
