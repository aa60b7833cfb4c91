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
from locus.multiagent.identity import GraphIdentity, Migration, describe_change
from locus.multiagent.result import GraphResult
from locus.multiagent.run_state import PAUSE_KEY, RunState
from locus.multiagent.runtime import Execution
from locus.observe.hooks import log_lease_conflict, open_run

if TYPE_CHECKING:
    from locus.checkpoint import Checkpointer, CheckpointStatus, StoredCheckpoint
    from locus.checkpoint.types import TypeRegistry
    from locus.multiagent.plan import RunPlan

__all__ = ["ThreadRunner", "ThreadState", "thread_history", "thread_state"]

#: run-marker key listing the interrupt ids the last resume answered
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
        "extra",
        "graph",
        "identity",
        "last",
        "owner",
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
        identity: GraphIdentity | None = None,
    ) -> None:
        self.identity = identity
        self.checkpointer = checkpointer
        self.thread_id = thread_id
        self.owner = owner
        self.graph = graph
        self.dirty: set[str] = set()
        self.released = False
        # keys a caller adds to every run record written (a worker's item token)
        self.extra: Mapping[str, Any] | None = None
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
        run = rs.to_marker(self.graph, self.identity)
        if self.extra:
            run.update(self.extra)
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
            if status == "done" and self.resumed:
                audit.append(AuditDraft(kind="finished", at=time.time(), data={"step": rs.step}))
            # The step's nodes have run (and taken their once() actions): its checkpoint
            # is written to the end even if this execution is cancelled meanwhile, or the
            # record of those actions would be lost and they would run again.
            await leases.finish(
                self.checkpointer.put(
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
                    audit_asked=status == "paused",
                )
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
            # rewritten, a pause is a new checkpoint: answers stored for the old one no
            # longer apply, so the thread is no longer ready
            await self.checkpointer.put(
                self.thread_id,
                self.owner,
                changes={},
                status=status,
                run=kept,
                pending=pending,
                graph=self.graph,
                clear_ready=self.resumed,
            )


class ThreadRunner:
    """Runs executions of one graph's stored threads: takes the lease, saves every step.

    One runner serves any number of executions; nothing of a run lives on it.

    Args:
        checkpointer: where the threads are stored.
        graph: the graph's name, stored with every checkpoint and checked on resume.
        lease_seconds: how long a thread stays claimed by an execution that stopped
            renewing its lease.
        identity: the graph's fingerprint and structure, stored with every checkpoint and
            compared on resume; ``None`` stores and checks none.
        on_change: the policy for a thread stored under another fingerprint: ``"refuse"``,
            ``"allow"`` or a migration function (see ``StateGraph``).
    """

    __slots__ = ("checkpointer", "graph", "identity", "lease_seconds", "on_change")

    def __init__(
        self,
        checkpointer: Checkpointer,
        graph: str,
        lease_seconds: float,
        *,
        identity: GraphIdentity | None = None,
        on_change: str | Migration = "refuse",
    ) -> None:
        self.checkpointer = checkpointer
        self.graph = graph
        self.lease_seconds = lease_seconds
        self.identity = identity
        self.on_change = on_change

    async def run(
        self,
        run_plan: RunPlan,
        inputs: Mapping[str, Any] | Command | None,
        thread_id: str | None,
        emit: Callable[[Any], None] | None = None,
        *,
        owner: str | None = None,
        record: Mapping[str, Any] | None = None,
        lease_seconds: float | None = None,
    ) -> GraphResult:
        """Start, resume or continue the stored thread ``thread_id``.

        ``owner`` names the lease holder (a worker passes its own, so a successor can tell
        whether it died); ``record`` adds keys to the run record of every checkpoint
        written; ``lease_seconds`` overrides the runner's.

        * a dict starts a run (on a finished thread, over its last values);
        * ``Command(resume=...)`` / ``resume_by_id`` answers the stored pause;
        * ``None`` (or a ``Command`` without answers) continues a run whose process died,
          re-running only the step that was in flight.

        Raises:
            ResumeConflictError: another execution holds the thread, or already answered it.
            GraphMismatchError: the thread belongs to another graph (nothing has run).
            ThreadNotFoundError, NothingToResumeError, MissingResumeError: nothing to resume.
            InvalidInputError: a new run asked of a thread that is paused or mid-run.
        """
        checkpointer = self.checkpointer
        lease = lease_seconds or self.lease_seconds
        if thread_id is None:
            if not isinstance(inputs, Mapping):
                raise ConfigurationError(
                    f"graph {self.graph!r} has a checkpointer: pass thread_id= to resume or "
                    "continue a stored thread"
                )
            thread_id = os.urandom(12).hex()
        owner = owner or os.urandom(12).hex()
        obs = open_run(self.graph, thread_id)
        try:
            stored = await leases.take(checkpointer, thread_id, owner, lease)
        except ResumeConflictError as exc:
            log_lease_conflict(self.graph, thread_id, exc)
            raise
        heartbeat = asyncio.ensure_future(leases.heartbeat(checkpointer, thread_id, owner, lease))
        saver = _Saver(checkpointer, thread_id, owner, self.graph, stored, self.identity)
        saver.extra = record
        try:
            run = Execution(run_plan, emit=emit, on_step=saver, obs=obs)
            result = await _dispatch(run, saver, stored, inputs, thread_id, self.on_change)
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
    on_change: str | Migration,
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
    migrated = _check_identity(saver, stored, values, thread_id, on_change)
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
    answer_trees = _check_storable(command, changed, thread_id, saver.checkpointer.types)
    answering = command.has_resume or command.goto is not None
    if stored.status == "running" and not answering:
        rs = RunState.from_marker(stored.run, paused=False, thread_id=stored.thread_id)
        if migrated is not None:
            rs.audit.append(migrated)
        return await run.resume_running(values, rs)
    if stored.status != "paused":
        raise _not_paused(thread_id, stored, command)
    rs = RunState.from_marker(stored.run, thread_id=thread_id)
    if migrated is not None:
        rs.audit.append(migrated)
    if not answering:
        stored_command = await answers.stored_answers(
            saver.checkpointer, thread_id, stored, saver.owner
        )
        if stored_command is not None:
            command, answering = stored_command, True
    else:
        await answers.check_direct(saver.checkpointer, thread_id, stored, rs, command, saver.owner)
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
        rs.answered = [i for i in command.resume_by_id if i in pending_ids]
    elif command.resume is not NO_ANSWER:
        rs.answered = sorted(pending_ids)
    saver.resumed = True
    saver.audit = answers.resume_entries(rs, command, saver.owner, inputs is None, answer_trees)
    return await run.resume(values, rs, command)


def _check_identity(
    saver: _Saver,
    stored: StoredCheckpoint,
    values: dict[str, Any],
    thread_id: str,
    on_change: str | Migration,
) -> dict[str, Any] | None:
    """Apply the graph-change policy to a thread stored under another fingerprint.

    Returns the migration record when a migration function moved ``values`` (in place;
    the keys it changed are written with the next checkpoint), else ``None``.

    Raises:
        GraphMismatchError: the policy is ``"refuse"``, or the migration failed; naming
            what changed. Nothing has run.
    """
    identity = saver.identity
    old = stored.run.get("fingerprint")
    if identity is None or old is None or old == identity.fingerprint or on_change == "allow":
        return None
    change = describe_change(stored.run.get("shape"), identity.shape)
    if not callable(on_change):
        raise GraphMismatchError(
            f"thread {thread_id!r} was stored by another version of graph {saver.graph!r} "
            f"({change}): nothing was run. Resume it with the graph that paused it, or build "
            "this graph with StateGraph(..., on_graph_change='allow' or a migration "
            "function)"
        )
    try:
        moved = on_change(dict(values), str(old))
    except Exception as exc:
        raise GraphMismatchError(
            f"thread {thread_id!r}: the on_graph_change migration of graph {saver.graph!r} "
            f"raised {type(exc).__name__}: {exc} ({change}); nothing was run or stored"
        ) from exc
    if not isinstance(moved, Mapping):
        raise GraphMismatchError(
            f"thread {thread_id!r}: the on_graph_change migration of graph {saver.graph!r} "
            f"returned {type(moved).__name__}, not a dict of state values; nothing was run"
        )
    moved = dict(moved)
    saver.dirty.update(k for k, v in moved.items() if not _same(values, k, v))
    values.clear()
    values.update(moved)
    return {
        "kind": "migration",
        "from": old,
        "to": identity.fingerprint,
        "at": dt.datetime.now(dt.UTC).isoformat(),
        "change": change,
    }


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
) -> dict[str | None, Any]:
    """Refuse a resume whose update or answers could not be stored, before any node runs.

    They are written with the resumed step's checkpoint; found unstorable only then, the
    nodes (and their ``once()`` actions) would already have run, and would run again on
    the next attempt.

    Returns:
        The answers' encoded trees for the audit entries, by interrupt id (``None`` for
        ``Command.resume``), so that they are not encoded again.

    Raises:
        StateSerializationError: naming the update key or the answer at fault.
    """
    update = command.update or {}
    for key in changed:
        codec.check_state_key(key, thread_id)
        serializer.encode(
            update[key], root=f"Command.update[{key!r}]", thread_id=thread_id, types=types
        )
    answers: dict[str | None, Any] = {}
    if command.resume is not NO_ANSWER:
        answers[None] = command.resume
    answers.update(command.resume_by_id or {})
    return {
        iid: serializer.encode_with_tree(
            value,
            root="Command.resume" if iid is None else f"Command.resume_by_id[{iid!r}]",
            thread_id=thread_id,
            types=types,
        )[0]
        for iid, value in answers.items()
    }


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
