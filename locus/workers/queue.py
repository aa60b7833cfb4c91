"""The work queue: which threads are due to run, stored beside the threads themselves.

One work item per thread at most: a submitted run (``kind="start"``, the inputs as its
payload) or a stored answer to apply (``kind="resume"``, the answers as its payload).
An item stays in the store from submission until the run pauses or finishes, so a worker
that dies anywhere in between leaves it to be claimed again; what the next worker does
is decided by the thread's stored state (see ``locus.workers.run``), never by the item
alone, so claiming an item twice never runs a checkpointed step twice.

States: ``ready`` (claimable), ``claimed`` (a worker holds it; ``claimed_by`` names the
worker's liveness mark), ``failed`` (retries used up; ``error`` says why).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from locus.checkpoint import serializer
from locus.core.command import NO_ANSWER, Command
from locus.errors import CheckpointError, ConfigurationError

if TYPE_CHECKING:
    from locus.checkpoint import Checkpointer

__all__ = [
    "COLUMNS",
    "WorkItem",
    "WorkKind",
    "WorkQueue",
    "WorkState",
    "decode_payload",
    "encode_payload",
    "item_from_row",
    "queue_for",
]

WorkState = Literal["ready", "claimed", "failed"]
#: ``start``: a submitted run; ``resume``: submitted answers; ``ready``: answers stored by
#: ``locus.inbox`` (the thread's ready mark), applied by ``execute(None, ...)``
WorkKind = Literal["start", "resume", "ready"]
WORK_STATES: tuple[WorkState, ...] = ("ready", "claimed", "failed")


@dataclass(slots=True)
class WorkItem:
    """One thread due to run.

    Attributes:
        thread_id: the thread.
        graph: the name of the graph that runs it.
        kind: ``"start"`` (a submitted run), ``"resume"`` (submitted answers to apply)
            or ``"ready"`` (answers the inbox stored; only a failed one is queued).
        payload: the encoded inputs or answers (see ``encode_payload``).
        token: unique per item; written into the run record of every checkpoint its
            execution writes, so a re-claimed item can tell it already ran.
        priority: higher runs first where the store orders claims (PostgreSQL, SQLite).
        state: ``"ready"``, ``"claimed"`` or ``"failed"``.
        attempts: failed attempts so far.
        error: why the last attempt failed.
        claimed_by: the liveness mark of the worker holding it.
        queued_at: when it was submitted (seconds since the epoch).
        claims: how often it was claimed, this claim included; a first claim needs no
            look at the thread to know nothing of it ran yet.
        ref: a backend's own handle for it (a Redis stream entry id; ``a:<id>`` for an
            entry of a graph's answers stream).
    """

    thread_id: str
    graph: str
    kind: WorkKind
    payload: bytes
    token: str
    priority: int = 0
    state: WorkState = "ready"
    attempts: int = 0
    error: str | None = None
    claimed_by: str | None = None
    queued_at: float = field(default_factory=time.time)
    claims: int = 0
    ref: str | None = None


#: the columns of a work item's row in the SQL stores, in ``item_from_row`` order
COLUMNS = (
    "thread_id, graph, kind, payload, token, priority, state, attempts, error, claimed_by, "
    "queued_at, claims"
)


def item_from_row(row: Sequence[Any]) -> WorkItem:
    """The item a row of ``COLUMNS`` holds (PostgreSQL, SQLite)."""
    tid, graph, kind, payload, token, priority, state, attempts, error, claimed_by, at, n = row
    return WorkItem(
        thread_id=tid,
        graph=graph,
        kind=kind,
        payload=bytes(payload),
        token=token,
        priority=priority,
        state=state,
        attempts=attempts,
        error=error,
        claimed_by=claimed_by,
        queued_at=at,
        claims=n,
    )


def encode_payload(value: Any, thread_id: str, cp: Checkpointer) -> bytes:
    """Serialize a run's inputs (a dict) or a ``Command``'s answers for storage.

    Raises:
        StateSerializationError: naming the input key or answer that cannot be stored.
    """
    if isinstance(value, Command):
        tree: dict[str, Any] = {}
        if value.resume is not NO_ANSWER:
            tree["resume"] = value.resume
        if value.resume_by_id:
            tree["resume_by_id"] = dict(value.resume_by_id)
        if value.update:
            tree["update"] = dict(value.update)
        if value.goto is not None:
            tree["goto"] = value.goto if isinstance(value.goto, str) else list(value.goto)
        return serializer.encode(tree, root="Command", thread_id=thread_id, types=cp.types)
    return serializer.encode(dict(value), root="inputs", thread_id=thread_id, types=cp.types)


def decode_payload(item: WorkItem, cp: Checkpointer) -> dict[str, Any] | Command:
    """The inputs or ``Command`` an item carries.

    Raises:
        SchemaVersionError, UnknownStoredTypeError, CheckpointError: it cannot be loaded.
    """
    tree = serializer.decode(
        item.payload, what=f"the {item.kind} payload", thread_id=item.thread_id, types=cp.types
    )
    if type(tree) is not dict:
        raise CheckpointError(f"work item of thread {item.thread_id!r}: payload is not a dict")
    if item.kind == "start":
        return tree
    return Command(
        update=tree.get("update"),
        resume=tree.get("resume", NO_ANSWER),
        resume_by_id=tree.get("resume_by_id"),
        goto=tree.get("goto"),
    )


class WorkQueue(ABC):
    """The work items of one checkpointer's store.

    Args:
        checkpointer: the store; the queue uses its connections.
    """

    #: whether a worker's lease can be taken over at once when its process dies
    has_liveness: bool = False
    #: whether ``claim`` also claims the threads the inbox marked ready (as ``ready``
    #: items it stores claimed), so no two workers resume one
    claims_ready: bool = False
    #: whether new work wakes every idle worker at once (a broadcast, not a hand-off)
    wakes_all: bool = False

    def __init__(self, checkpointer: Checkpointer) -> None:
        self.checkpointer = checkpointer

    async def setup(self) -> None:
        """Create what the queue needs in the store; safe to call any number of times."""
        await self.checkpointer.setup()

    async def hold_mark(self) -> str:
        """Take this process's liveness mark (see ``locus.checkpoint.liveness``)."""
        import os

        return "w" + os.urandom(8).hex()

    def mark_lost(self) -> bool:
        """Whether the store no longer sees this worker's mark (its session ended): the
        worker must stop, since others now take its threads over."""
        return False

    async def drop_mark(self) -> None:  # noqa: B027 - most stores hold nothing
        """Give the liveness mark back (a clean exit)."""

    @abstractmethod
    async def enqueue(self, item: WorkItem) -> bool:
        """Store ``item`` as ready; ``False`` (nothing stored) if its thread has one already."""

    async def enqueue_checked(self, item: WorkItem) -> bool:
        """Store ``item`` as ready in one atomic step with the check ``submit`` makes: a
        ``start`` item only on a new or finished thread, a ``resume`` item only on a
        paused one, and only on a thread of the item's graph.

        ``False`` means nothing was stored: the thread is in no state for the item, has an
        item already, or the store does not check (the default); ``submit`` then reads
        the thread to say which, or to replace an item carried out already.
        """
        return False

    @abstractmethod
    async def replace(self, old: WorkItem, new: WorkItem) -> bool:
        """Store ``new`` as ready in place of ``old`` (carried out, not yet removed);
        ``False`` if the thread's item is no longer ``old``."""

    @abstractmethod
    async def claim(self, graphs: Sequence[str], mark: str, limit: int) -> list[WorkItem]:
        """Claim up to ``limit`` ready items of ``graphs`` for the worker ``mark``."""

    @abstractmethod
    async def finish(self, items: Sequence[WorkItem]) -> None:
        """Remove claimed items whose runs have paused or finished (one write for all)."""

    @abstractmethod
    async def fail(self, item: WorkItem, error: str) -> None:
        """Mark a claimed item ``failed`` with ``error`` (its attempts as counted)."""

    @abstractmethod
    async def unclaim(self, item: WorkItem) -> None:
        """Hand a claimed item back as ready (a draining worker that did not get to it)."""

    @abstractmethod
    async def retry(self, thread_id: str) -> bool:
        """Make a failed item ready again with no attempts counted; ``False`` if none."""

    @abstractmethod
    async def reap(self, graphs: Sequence[str], mark: str) -> tuple[int, list[WorkItem]]:
        """Take back items of dead or stalled workers: how many, and those now claimed
        by the worker ``mark`` itself (stores that hand over directly); the rest are
        ready again."""

    async def keep(self, items: Sequence[WorkItem], mark: str) -> None:  # noqa: B027
        """Show that the worker ``mark`` is still working on ``items`` (where needed)."""

    @abstractmethod
    async def get(self, thread_id: str) -> WorkItem | None:
        """The thread's item, or ``None``."""

    @abstractmethod
    async def items(
        self, state: WorkState | None = None, graph: str | None = None, limit: int = 100
    ) -> list[WorkItem]:
        """Items, oldest first, optionally of one state or graph."""

    async def wait(self, graphs: Sequence[str], seconds: float) -> None:
        """Return when new work may be ready, or after ``seconds``."""
        import asyncio

        await asyncio.sleep(seconds)

    async def close(self) -> None:
        """Release what the queue opened of its own."""
        await self.drop_mark()


def queue_for(checkpointer: Checkpointer) -> WorkQueue:
    """The work queue of ``checkpointer``'s store (one per checkpointer object).

    Raises:
        ConfigurationError: the checkpointer is of a kind workers cannot use.
    """
    found: WorkQueue | None = getattr(checkpointer, "_locus_work_queue", None)
    if found is not None:
        return found
    from locus.checkpoint.kinds import store_kind

    kind = store_kind(checkpointer)
    queue: WorkQueue
    if kind == "sqlite":
        from locus.workers.queue_sqlite import SQLiteQueue

        queue = SQLiteQueue(checkpointer)  # type: ignore[arg-type]
    elif kind == "memory":
        from locus.workers.queue_memory import MemoryQueue

        queue = MemoryQueue(checkpointer)  # type: ignore[arg-type]
    elif kind == "postgres":
        from locus.workers.queue_postgres import PostgresQueue

        queue = PostgresQueue(checkpointer)  # type: ignore[arg-type]
    elif kind == "redis":
        from locus.workers.queue_redis import RedisQueue

        queue = RedisQueue(checkpointer)  # type: ignore[arg-type]
    else:
        raise ConfigurationError(
            f"{type(checkpointer).__name__} has no work queue: submit and workers need a "
            "MemoryCheckpointer, SQLiteCheckpointer, PostgresCheckpointer or RedisCheckpointer"
        )
    checkpointer._locus_work_queue = queue  # type: ignore[attr-defined]
    return queue
