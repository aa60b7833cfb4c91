"""Runs stored in a checkpointer by thread id: every step saved, every pause durable.

An execution takes the thread's lease first (``ResumeConflictError`` if another execution
holds it), keeps it alive with a heartbeat while it runs, writes a checkpoint after every
step (the inputs and a resume's answers go with the first one), and hands the lease back
with its last write. The stored pause is authoritative: a resume answers what the store
says is pending, whatever snapshot the caller holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from locus.checkpoint import codec, serializer
from locus.checkpoint.audit import AuditDraft
from locus.core.command import NO_ANSWER, Command
from locus.core.interrupt import InterruptState
from locus.errors import (
    CheckpointError,
    ConfigurationError,
    GraphMismatchError,
    InvalidInputError,
    MissingResumeError,
    NothingToResumeError,
    ResumeConflictError,
    StateSerializationError,
    ThreadNotFoundError,
)
from locus.multiagent import answers, leases
from locus.multiagent.result import GraphResult
from locus.multiagent.run_state import PAUSE_KEY, RunState
from locus.multiagent.runtime import Execution
from locus.observe.hooks import log_lease_conflict, open_run

if TYPE_CHECKING:
    from locus.checkpoint import Checkpointer, CheckpointStatus, StoredCheckpoint
    from locus.checkpoint.types import TypeRegistry
    from locus.multiagent.graph import StateGraph
    from locus.multiagent.plan import GraphPlan

__all__ = ["ThreadState", "execute_thread", "thread_history", "thread_state"]

#: run-record key listing the interrupt ids the last resume answered
_ANSWERED = "answered"


@dataclass(frozen=True, slots=True)
class ThreadState:
    """A stored thread at one checkpoint.

    Attributes:
        thread_id: the thread.
        values: the state (runtime ``__`` keys are never stored).
        interrupts: what is pending, with ids and payloads (empty unless paused).
        next: the nodes the next step runs.
        status: ``"running"``, ``"paused"`` or ``"done"``.
        step: the run's completed step count.
        checkpoint: the checkpoint's sequence number within the thread.
        created_at: when the checkpoint was written (UTC).
    """

    thread_id: str
    values: dict[str, Any]
    interrupts: list[InterruptState]
    next: list[str]
    status: str
    step: int
    checkpoint: int
    created_at: dt.datetime

    @property
    def is_interrupted(self) -> bool:
        """True when the thread waits for an answer."""
        return bool(self.interrupts)


def _thread_state(stored: StoredCheckpoint) -> ThreadState:
    rs = RunState.from_marker(stored.run, paused=False, thread_id=stored.thread_id)
    return ThreadState(
        thread_id=stored.thread_id,
        values=stored.values,
        interrupts=[p.public() for p in rs.pending] if stored.status == "paused" else [],
        next=list(rs.frontier),
        status=stored.status,
        step=rs.step,
        checkpoint=stored.seq,
        created_at=stored.created_at,
    )


async def thread_state(checkpointer: Checkpointer, thread_id: str) -> ThreadState:
    """The latest stored state of ``thread_id``.

    Raises:
        ThreadNotFoundError: no such thread.
    """
    stored = await checkpointer.get(thread_id)
    if stored is None:
        raise ThreadNotFoundError(f"no stored thread {thread_id!r}")
    return _thread_state(stored)


async def thread_history(
    checkpointer: Checkpointer, thread_id: str, limit: int | None = None
) -> list[ThreadState]:
    """Every stored checkpoint of ``thread_id``, newest first.

    Raises:
        ThreadNotFoundError: no such thread.
    """
    stored = await checkpointer.history(thread_id, limit=limit)
    if not stored:
        raise ThreadNotFoundError(f"no stored thread {thread_id!r}")
    return [_thread_state(s) for s in stored]


class _Saver:
    """The step hook that writes a checkpoint after every step and at every pause."""

    __slots__ = (
        "audit",
        "checkpointer",
        "dirty",
        "graph",
        "last",
        "owner",
        "record",
        "released",
        "resumed",
        "thread_id",
    )

    def __init__(
        self,
        checkpointer: Checkpointer,
        thread_id: str,
        owner: str,
        graph: str,
        stored: StoredCheckpoint | None,
    ) -> None:
        self.checkpointer = checkpointer
        self.thread_id = thread_id
        self.owner = owner
        self.graph = graph
        self.dirty: set[str] = set()
        self.record: dict[str, Any] = {}
        self.released = False
        # audit entries for the next put (a resume's answers and "resumed"), and whether
        # this execution resumed a pause (its first put consumes the stored answers)
        self.audit: list[AuditDraft] = []
        self.resumed = False
        # the thread's latest checkpoint as (status, run, pending): where a step starts
        self.last: tuple[CheckpointStatus, Mapping[str, Any], list[Any]] | None = (
            None if stored is None else (stored.status, stored.run, list(stored.pending))
        )

    async def __call__(self, values: dict[str, Any], rs: RunState, written: set[str]) -> None:
        keys = self.dirty | written if self.dirty else written
        self.dirty = set()
        status: CheckpointStatus
        if rs.kind is not None:
            status = "paused"
        elif rs.frontier:
            status = "running"
        else:
            status = "done"
        run = rs.to_marker(self.graph)
        run.update(self.record)
        # a pause or the end is this execution's last write: hand the lease back with it
        final = status != "running"
        pending = (
            [
                {"id": p.id, "node": p.node, "payload": p.payload, "response_schema": p.schema}
                if p.ask is None
                else {
                    "id": p.id,
                    "node": p.node,
                    "payload": p.payload,
                    "response_schema": p.schema,
                    "ask": p.ask,
                }
                for p in rs.pending
            ]
            if rs.kind is not None
            else []
        )
        audit, self.audit = self.audit, []
        clear_ready = bool(audit) and self.resumed
        try:
            if status != "running":
                audit.extend(_closing_entries(status, rs, self.resumed))
            await self.checkpointer.put(
                self.thread_id,
                self.owner,
                changes={k: values[k] for k in keys if k in values},
                status=status,
                run=run,
                pending=pending,
                graph=self.graph,
                release=final,
                audit=audit,
                clear_ready=clear_ready,
            )
        except StateSerializationError:
            await self._keep_journals(rs)
            raise
        self.released = final
        self.last = (status, run, pending)

    async def _keep_journals(self, rs: RunState) -> None:
        """Record what the step's nodes did although the step itself cannot be stored.

        The step's checkpoint failed (a node returned a value that cannot be stored, say),
        but its nodes may have taken actions with ``once()``. The checkpoint the step
        started from is written again with their journals, so that running the step again
        replays those actions instead of taking them twice.
        """
        journals = {**rs.spent, **rs.journals}
        if self.last is None or not journals or self.last[0] == "done":
            return  # nothing recorded, or no stored step to attach it to
        status, run, pending = self.last
        kept = dict(run)
        kept["journals"] = {**(run.get("journals") or {}), **journals}
        # a journal entry that cannot be stored itself leaves nothing better to write
        with contextlib.suppress(CheckpointError):
            await self.checkpointer.put(
                self.thread_id,
                self.owner,
                changes={},
                status=status,
                run=kept,
                pending=pending,
                graph=self.graph,
            )


async def execute_thread(
    graph: StateGraph,
    plan: GraphPlan,
    before: frozenset[str],
    after: frozenset[str],
    max_steps: int,
    inputs: Mapping[str, Any] | Command | None,
    thread_id: str | None,
    emit: Callable[[Any], None] | None,
) -> GraphResult:
    """Start, resume or continue the stored thread ``thread_id``.

    * a dict starts a run (on a finished thread, over its last values);
    * ``Command(resume=...)`` / ``resume_by_id`` answers the stored pause;
    * ``None`` (or a ``Command`` without answers) continues a run whose process died,
      re-running only the step that was in flight.

    Raises:
        ResumeConflictError: another execution holds the thread, or already answered it.
        ThreadNotFoundError, NothingToResumeError, MissingResumeError: nothing to resume.
        InvalidInputError: a new run asked of a thread that is paused or mid-run.
    """
    checkpointer = graph._checkpointer()
    lease = float(graph.config.lease_seconds)
    if thread_id is None:
        if not isinstance(inputs, Mapping):
            raise ConfigurationError(
                f"graph {graph.name!r} has a checkpointer: pass thread_id= to resume or "
                "continue a stored thread"
            )
        thread_id = os.urandom(12).hex()
    owner = os.urandom(12).hex()
    obs = open_run(graph.name, thread_id)
    try:
        stored = await leases.take(checkpointer, thread_id, owner, lease)
    except ResumeConflictError as exc:
        log_lease_conflict(graph.name, thread_id, exc)
        raise
    heartbeat = asyncio.ensure_future(leases.heartbeat(checkpointer, thread_id, owner, lease))
    saver = _Saver(checkpointer, thread_id, owner, graph.name, stored)
    try:
        run = Execution(
            plan,
            before=before,
            after=after,
            max_steps=max_steps,
            emit=emit,
            on_step=saver,
            obs=obs,
        )
        result = await _dispatch(run, saver, stored, inputs, thread_id)
    finally:
        heartbeat.cancel()
        if not saver.released:
            await leases.hand_back(checkpointer, thread_id, owner)
    result.thread_id = thread_id
    return result


async def _dispatch(
    run: Execution,
    saver: _Saver,
    stored: StoredCheckpoint | None,
    inputs: Mapping[str, Any] | Command | None,
    thread_id: str,
) -> GraphResult:
    if stored is not None and stored.graph != saver.graph:
        raise GraphMismatchError(
            f"thread {thread_id!r} belongs to graph {stored.graph!r}, not to graph "
            f"{saver.graph!r}: nothing was run; continue it with graph {stored.graph!r}, or "
            "give this graph's run another thread id"
        )
    if isinstance(inputs, Mapping):
        if PAUSE_KEY in inputs:
            raise InvalidInputError(
                f"thread {thread_id!r}: these inputs are a paused snapshot; with a "
                "checkpointer resume with execute(Command(resume=...), thread_id=...)"
            )
        # The inputs are written with the first step's checkpoint, not on their own: a
        # process that dies in the first step leaves no thread, and the run starts anew.
        if stored is None:
            saver.dirty.update(k for k in inputs if not k.startswith("__"))
            return await run.start(dict(inputs))
        if stored.status != "done":
            raise InvalidInputError(_busy_message(thread_id, stored))
        saver.dirty.update(k for k in inputs if not k.startswith("__"))
        return await run.start({**stored.values, **inputs})
    if stored is None:
        raise ThreadNotFoundError(
            f"no stored thread {thread_id!r}: there is nothing to resume (a new run takes a "
            "dict of inputs)"
        )
    command = inputs if isinstance(inputs, Command) else Command()
    values = dict(stored.values)
    changed: list[str] = []
    if command.update:
        # the stored pause is authoritative: a snapshot marker in the update is ignored
        update = {k: v for k, v in command.update.items() if k != PAUSE_KEY}
        # runtime keys are never stored; a value the thread already holds (an update that
        # is the paused snapshot) needs neither checking nor writing again
        changed = [
            k for k, v in update.items() if not k.startswith("__") and not _same(values, k, v)
        ]
        values.update(update)
        saver.dirty.update(changed)
    _check_storable(command, changed, thread_id, saver.checkpointer.types)
    answering = command.has_resume or command.goto is not None
    if stored.status == "running" and not answering:
        rs = RunState.from_marker(stored.run, paused=False, thread_id=stored.thread_id)
        return await run.resume_running(values, rs)
    if stored.status != "paused":
        raise _not_paused(thread_id, stored, command)
    rs = RunState.from_marker(stored.run, thread_id=thread_id)
    if not answering:
        stored_command = await answers.stored_answers(saver.checkpointer, thread_id, stored)
        if stored_command is not None:
            command, answering = stored_command, True
    else:
        await answers.check_direct(saver.checkpointer, thread_id, stored, rs, command)
    if not answering:
        raise MissingResumeError(
            f"thread {thread_id!r} is paused at "
            + ", ".join(f"node {p.node!r} (interrupt {p.id})" for p in rs.pending)
            + "; resume it with execute(Command(resume=answer), thread_id=...)"
        )
    answered_before = set(stored.run.get(_ANSWERED, ()))
    pending_ids = {p.id for p in rs.pending}
    for iid in command.resume_by_id or ():
        if iid not in pending_ids and iid in answered_before:
            raise ResumeConflictError(
                f"interrupt {iid!r} of thread {thread_id!r} was already answered by another "
                "execution"
            )
    if command.resume_by_id:
        saver.record[_ANSWERED] = [i for i in command.resume_by_id if i in pending_ids]
    elif command.resume is not NO_ANSWER:
        saver.record[_ANSWERED] = sorted(pending_ids)
    saver.resumed = True
    saver.audit = answers.resume_entries(rs, command, saver.owner, inputs is None)
    return await run.resume(values, rs, command)


def _closing_entries(status: str, rs: RunState, resumed: bool) -> list[AuditDraft]:
    if status == "paused":
        return answers.asked_entries(rs)
    if status == "done" and resumed:
        return [AuditDraft(kind="finished", at=time.time(), data={"step": rs.step})]
    return []


def _same(values: dict[str, Any], key: str, value: Any) -> bool:
    if key not in values:
        return False
    old = values[key]
    if old is value:
        return True
    try:
        return type(old) is type(value) and bool(old == value)
    except Exception:  # an __eq__ that raises or has no truth value: treat it as changed
        return False


def _check_storable(
    command: Command, changed: list[str], thread_id: str, types: TypeRegistry
) -> None:
    """Refuse a resume whose update or answers could not be stored, before any node runs.

    They are written with the resumed step's checkpoint; found unstorable only then, the
    nodes (and their ``once()`` actions) would already have run, and would run again on
    the next attempt.

    Raises:
        StateSerializationError: naming the update key or the answer at fault.
    """
    update = command.update or {}
    for key in changed:
        codec.check_state_key(key, thread_id)
    checks = [(f"Command.update[{k!r}]", update[k]) for k in changed]
    if command.resume is not NO_ANSWER:
        checks.append(("Command.resume", command.resume))
    if command.resume_by_id:
        checks += [(f"Command.resume_by_id[{i!r}]", v) for i, v in command.resume_by_id.items()]
    for root, value in checks:
        serializer.encode(value, root=root, thread_id=thread_id, types=types)


def _busy_message(thread_id: str, stored: StoredCheckpoint) -> str:
    if stored.status == "paused":
        waiting = ", ".join(f"node {p['node']!r} (interrupt {p['id']})" for p in stored.pending)
        return (
            f"thread {thread_id!r} is paused at {waiting}; resume it with "
            "execute(Command(resume=...), thread_id=...) or delete the thread first"
        )
    return (
        f"thread {thread_id!r} is mid-run (its last execution stopped part-way); continue it "
        "with execute(None, thread_id=...) or delete the thread first"
    )


def _not_paused(thread_id: str, stored: StoredCheckpoint, command: Command) -> Exception:
    answered = stored.run.get(_ANSWERED)
    if answered:
        return ResumeConflictError(
            f"thread {thread_id!r} has nothing pending: its pause (interrupt "
            f"{', '.join(answered)}) was already answered by another execution "
            f"(status now {stored.status!r})"
        )
    return NothingToResumeError(
        f"thread {thread_id!r} has nothing pending to resume (status {stored.status!r})"
    )
