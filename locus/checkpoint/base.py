"""The ``Checkpointer`` protocol: what the graph runtime may rely on, for every backend.

The public methods live here and are the same for every backend: they check arguments,
serialize everything before a backend writes anything, and load stored documents back
into values. A backend implements the ``_``-prefixed hooks and only ever stores bytes.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from locus.checkpoint.audit import AuditDraft, AuditRow
from locus.checkpoint.codec import check_ids as _check_ids
from locus.checkpoint.codec import encode_put, materialise, pending_item
from locus.checkpoint.held import HeldTrails
from locus.checkpoint.records import (
    CheckpointStatus,
    EncodedPut,
    PendingItem,
    PendingPage,
    RawCheckpoint,
    RawPending,
    StoredCheckpoint,
)
from locus.checkpoint.types import DEFAULT_TYPES, TypeRegistry
from locus.errors import CheckpointError, CheckpointUsageError, ResumeConflictError

__all__ = ["Checkpointer", "check_batch_size", "lease_conflict", "lease_not_held"]


def lease_conflict(thread_id: str, owner: str, holder: str) -> ResumeConflictError:
    """The error ``acquire`` raises when another owner holds an unexpired lease."""
    return ResumeConflictError(
        f"thread {thread_id!r} is held by {holder!r}; {owner!r} cannot acquire it until that "
        "lease is released or expires"
    )


def check_batch_size(batch_size: object) -> None:
    """Refuse a ``batch_size`` (of a store that batches concurrent calls) below 1.

    Raises:
        CheckpointUsageError: not an int of at least 1.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise CheckpointUsageError(
            f"batch_size must be an int of at least 1 (1 sends every call on its own), got "
            f"{batch_size!r}"
        )


def lease_not_held(thread_id: str, owner: str, action: str) -> ResumeConflictError:
    """The error ``put`` and ``renew`` raise when ``owner`` holds no unexpired lease."""
    return ResumeConflictError(
        f"cannot {action} thread {thread_id!r}: {owner!r} does not hold its lease "
        "(never acquired, released, expired or taken over by another owner)"
    )


class Checkpointer(ABC):
    """Durable storage for paused and running graph threads.

    A thread is an ordered list of checkpoints, one per graph step, numbered 1, 2, 3, ...
    Writes require an exclusive, expiring lease (``acquire``), so two workers resuming one
    paused thread never both run it. Only changed state keys are written; an unchanged value
    is stored once however many checkpoints refer to it.

    State keys beginning with ``__`` are runtime values and are never persisted: ``put``
    drops them from ``changes`` silently.

    Args:
        ttl_seconds: when set, a ``"done"`` checkpoint written by this checkpointer makes
            its thread expire this many seconds later: from then on reads never return it,
            ``acquire`` starts it afresh, and ``purge_expired`` removes it. ``None`` keeps
            finished threads until deleted.
        types: Enum and pydantic model classes this checkpointer may restore from stored
            data, besides those registered process-wide (``register_type``); see
            ``locus.checkpoint.types``. Reading never imports a class by its stored name.

    Attributes:
        types: this checkpointer's registry of stored classes; ``types.register(cls)``
            adds one (``StateGraph(..., types=[...])`` does).

    Raises:
        CheckpointUsageError: ``ttl_seconds`` is not positive, or ``types`` holds
            something other than Enum and pydantic model classes.

    Every backend is an async context manager: ``async with SQLiteCheckpointer(p) as cp:``
    runs ``setup()`` on entry and ``aclose()`` on exit. ``setup()`` also runs by itself on
    first use.
    """

    def __init__(self, *, ttl_seconds: float | None = None, types: Iterable[type] = ()) -> None:
        if ttl_seconds is not None and not ttl_seconds > 0:
            raise CheckpointUsageError(f"ttl_seconds must be positive, got {ttl_seconds!r}")
        self.ttl_seconds = ttl_seconds
        self.types = TypeRegistry(types, parent=DEFAULT_TYPES)
        self._ready = False
        self._setup_lock = asyncio.Lock()
        # what lease holders in this process read of their threads' trails (a backend
        # that saves round trips with it notes it; see locus.checkpoint.held)
        self._held = HeldTrails()

    # --- lifecycle ---------------------------------------------------------------------

    async def setup(self) -> None:
        """Create the tables (or scripts) this backend needs; safe to call any number of times.

        Raises:
            CheckpointError: the store cannot be reached or prepared.
        """
        if self._ready:
            return
        async with self._setup_lock:
            if not self._ready:
                await self._setup()
                self._ready = True

    async def aclose(self) -> None:
        """Close connections and stop threads; a later call sets the checkpointer up again."""
        await self._close()
        self._ready = False

    async def __aenter__(self) -> Self:
        await self.setup()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- leases ------------------------------------------------------------------------

    async def acquire(
        self, thread_id: str, owner: str, *, lease_seconds: float
    ) -> StoredCheckpoint | None:
        """Take the thread's exclusive lease for ``owner`` and return its latest checkpoint.

        Atomic across processes and machines: of several owners racing for one thread,
        exactly one succeeds. Acquiring a lease ``owner`` already holds extends it. A lease
        whose holder died expires after ``lease_seconds``, or at once where the store can
        tell that the holder's process is gone (a worker's lease on PostgreSQL and SQLite,
        see ``locus.workers``); the holder's later writes are then refused. A call
        cancelled while in flight may still have taken the lease; it then expires like
        any other.

        Returns:
            The latest checkpoint, values fully loaded, or ``None`` for a thread with none
            (a new thread; the lease is taken all the same).

        Raises:
            ResumeConflictError: another owner holds an unexpired lease on the thread.
            CheckpointUsageError: empty ``thread_id``/``owner`` or ``lease_seconds`` <= 0.
            SchemaVersionError, UnknownStoredTypeError, CheckpointError: the latest
                checkpoint cannot be loaded; the lease is handed back first, so the thread
                stays as it was and another attempt (with the class registered, say) can
                acquire it at once.
        """
        _check_ids(thread_id, owner)
        _check_positive("lease_seconds", lease_seconds)
        await self.setup()
        try:
            raw = await self._acquire(thread_id, owner, lease_seconds, time.time())
        except ResumeConflictError:
            # the holder may be a worker that died: its lease then goes at once
            taken, raw = await self._take_over(thread_id, owner, lease_seconds)
            if not taken:
                raise
        if raw is None:
            return None
        try:
            return materialise(thread_id, raw, self.types)
        except CheckpointError:
            self._held.drop(thread_id)
            await self._release(thread_id, owner)
            raise

    async def renew(self, thread_id: str, owner: str, lease_seconds: float) -> None:
        """Extend ``owner``'s lease to ``lease_seconds`` from now.

        Raises:
            ResumeConflictError: ``owner`` does not hold an unexpired lease on the thread.
            CheckpointUsageError: empty ids or ``lease_seconds`` <= 0.
        """
        _check_ids(thread_id, owner)
        _check_positive("lease_seconds", lease_seconds)
        await self.setup()
        if not await self._renew(thread_id, owner, lease_seconds):
            raise lease_not_held(thread_id, owner, "renew the lease on")

    async def release(self, thread_id: str, owner: str) -> bool:
        """Drop ``owner``'s lease so another owner can acquire the thread at once.

        Safe in a ``finally:``: releasing a lease one does not hold changes nothing.

        Returns:
            ``True`` if ``owner`` held the lease (expired or not) and it was dropped.

        Raises:
            CheckpointUsageError: empty ids.
        """
        _check_ids(thread_id, owner)
        await self.setup()
        self._held.drop(thread_id)
        return await self._release(thread_id, owner)

    # --- writing -----------------------------------------------------------------------

    async def put(
        self,
        thread_id: str,
        owner: str,
        *,
        changes: Mapping[str, Any],
        status: CheckpointStatus,
        run: Mapping[str, Any],
        pending: Sequence[Mapping[str, Any]],
        graph: str,
        release: bool = False,
        audit: Sequence[AuditDraft] = (),
        clear_ready: bool = False,
        audit_asked: bool = False,
    ) -> int:
        """Write the thread's next checkpoint: the previous values updated with ``changes``.

        Everything is serialized before anything is written, and the write is one atomic
        transaction: on any error, or a crash part-way, the previous checkpoint stays the
        latest. The stored checkpoint is a copy: mutating ``changes``, ``run`` or
        ``pending`` afterwards does not change it.

        Args:
            thread_id: the thread.
            owner: must hold an unexpired lease from ``acquire``.
            changes: only the state keys written since the previous checkpoint; keys
                beginning with ``__`` are dropped.
            status: ``"running"``, ``"paused"`` or ``"done"``.
            run: the runtime's bookkeeping (serialized like state values).
            pending: the unanswered interrupts, each ``{"id": str, "node": str, "payload":
                Any}`` and optionally ``"response_schema"`` (a JSON Schema dict, or
                ``None``); listed by ``list_pending`` while this is the latest checkpoint
                and ``status`` is ``"paused"``.
            graph: the graph's name.
            release: also drop the lease, in the same transaction (a worker that pauses
                or finishes a thread hands it back with its last put).
            audit: entries appended to the thread's audit trail in the same transaction.
            clear_ready: drop the thread's ready mark in the same transaction (this put
                consumes the answers stored for the pause it resumes).
            audit_asked: with ``status="paused"``, also append an ``asked`` entry per
                pending interrupt (its payload digest and rules) after ``audit``.

        Returns:
            The new checkpoint's ``seq``.

        Raises:
            StateSerializationError: a value or state key cannot be stored (an unsupported
                type, a cycle, nesting past ``serializer.MAX_DEPTH``, an int too long, a
                key with NUL or a lone surrogate); names the key path and the cause.
            ResumeConflictError: ``owner`` does not hold an unexpired lease on the thread,
                or the thread itself expired (``ttl_seconds``) since it was acquired.
            CheckpointUsageError: bad ``status``, a malformed ``pending`` entry, empty ids,
                or a thread id, owner, graph, node or interrupt id no store can hold.
        """
        _check_ids(thread_id, owner)
        encoded = encode_put(
            thread_id,
            changes,
            status,
            run,
            pending,
            graph,
            self.ttl_seconds,
            release,
            self.types,
            audit,
            clear_ready,
            audit_asked,
        )
        await self.setup()
        seq = await self._put(thread_id, owner, encoded)
        if seq is None:
            raise lease_not_held(thread_id, owner, "write")
        return seq

    # --- reading -----------------------------------------------------------------------

    async def get(self, thread_id: str, seq: int | None = None) -> StoredCheckpoint | None:
        """Load one checkpoint: the latest, or the one numbered ``seq``.

        Returns:
            The checkpoint with values fully loaded, or ``None`` if the thread (or that
            ``seq``) does not exist, was pruned, or expired.

        Raises:
            CheckpointUsageError: ``seq`` is not a positive int.
            SchemaVersionError: it was written in a schema version this release cannot read.
            UnknownStoredTypeError: it names a class not registered with this checkpointer
                or process-wide (nothing is imported).
            CheckpointError: it is damaged or nested too deep to read.
        """
        _check_ids(thread_id)
        if seq is not None:
            _check_count("seq", seq)
        await self.setup()
        raw = await self._get(thread_id, seq, time.time())
        return None if raw is None else materialise(thread_id, raw, self.types)

    async def history(self, thread_id: str, limit: int | None = None) -> list[StoredCheckpoint]:
        """Load the thread's checkpoints, newest first, each with its full values.

        Returns:
            Up to ``limit`` checkpoints (all when ``None``); empty for an unknown thread.

        Raises:
            SchemaVersionError, CheckpointError: as ``get``.
            CheckpointUsageError: ``limit`` is not positive.
        """
        _check_ids(thread_id)
        if limit is not None:
            _check_count("limit", limit)
        await self.setup()
        raws = await self._history(thread_id, limit, time.time())
        return [materialise(thread_id, raw, self.types) for raw in raws]

    async def list_pending(self, *, limit: int = 50, cursor: str | None = None) -> PendingPage:
        """List interrupts waiting on paused threads, across threads, newest pause first.

        One row per pending interrupt of each thread whose latest checkpoint is paused,
        with the JSON Schema its answer must match (``response_schema``, ``None`` when the
        interrupt declared none). Reads only the inbox rows, never a thread's state. Pages
        do not skip or repeat rows that existed when the first page was read.

        Args:
            limit: rows per page.
            cursor: ``next_cursor`` of the previous page; ``None`` for the first page.

        Raises:
            CheckpointUsageError: ``limit`` not positive, or a cursor not from this method.
            SchemaVersionError, CheckpointError: a payload cannot be loaded.
        """
        _check_count("limit", limit)
        before = _parse_cursor(cursor)
        await self.setup()
        rows = await self._list_pending(limit + 1, before)
        items = [pending_item(row, self.types) for row in rows[:limit]]
        next_cursor = f"p{rows[limit - 1].position}" if len(rows) > limit else None
        return PendingPage(items=items, next_cursor=next_cursor)

    async def find_pending(self, interrupt_id: str) -> PendingItem | None:
        """The inbox row of the pending interrupt ``interrupt_id``, or ``None``.

        Raises:
            SchemaVersionError, CheckpointError: its payload cannot be loaded.
        """
        _check_interrupt_id(interrupt_id)
        await self.setup()
        row = await self._find_pending(interrupt_id)
        return None if row is None else pending_item(row, self.types)

    async def find_pending_with_trail(
        self, interrupt_id: str
    ) -> tuple[PendingItem, list[AuditRow]] | None:
        """``find_pending`` and the ``read_audit`` of its thread, read together (in one
        round trip and one snapshot where the store can): what answering an item needs.
        Raises as ``find_pending`` does."""
        _check_interrupt_id(interrupt_id)
        await self.setup()
        found = await self._find_pending_with_trail(interrupt_id)
        if found is None:
            return None
        row, trail = found
        return pending_item(row, self.types), trail

    # --- the audit trail and ready threads ----------------------------------------------

    async def append_audit(
        self,
        thread_id: str,
        rows: Sequence[AuditRow],
        *,
        checkpoint: int,
        ready_graph: str | None = None,
    ) -> bool:
        """Append already chained ``rows`` if nothing changed since they were chained.

        Atomic: the rows are written only if the thread's last audit entry is the one
        they follow, its latest checkpoint is still ``checkpoint`` and no execution holds
        its lease; with ``ready_graph`` the thread is also marked ready (a complete
        answer waits) in the same transaction. ``locus.inbox`` builds on this.

        Returns:
            ``False`` (and nothing written) when another writer came first.
        """
        _check_ids(thread_id)
        if not rows:
            return True
        await self.setup()
        return await self._append_audit(thread_id, list(rows), checkpoint, ready_graph, time.time())

    async def read_audit(self, thread_id: str, *, held_by: str | None = None) -> list[AuditRow]:
        """The thread's audit rows in ``seq`` order, as stored (see ``locus.inbox``).

        ``held_by`` names the caller's lease on the thread, if it holds one: the trail the
        backend read along with that lease is then returned without asking the store
        again (nobody else appends while the lease is held).
        """
        _check_ids(thread_id)
        if held_by is not None:
            trail = self._held.trail(thread_id, held_by)
            if trail is not None:
                return trail
        await self.setup()
        return await self._read_audit(thread_id)

    async def audit_feed(self, after: int = 0, limit: int = 100) -> list[AuditRow]:
        """Audit rows of every thread with ``position > after``, in write order.

        Raises:
            CheckpointUsageError: ``limit`` not positive or ``after`` negative.
        """
        _check_count("limit", limit)
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise CheckpointUsageError(f"after must be an int >= 0, got {after!r}")
        await self.setup()
        return await self._audit_feed(after, limit)

    async def list_ready(self, graph: str | None = None, *, limit: int = 100) -> list[str]:
        """Ids of threads with a complete stored answer not yet consumed, oldest first.

        ``graph.execute(None, thread_id=...)`` resumes such a thread with the stored
        answers; a worker lists them per graph.

        Raises:
            CheckpointUsageError: ``limit`` not positive.
        """
        _check_count("limit", limit)
        await self.setup()
        return await self._list_ready(graph, limit)

    async def ready_among(self, thread_ids: Sequence[str]) -> set[str]:
        """Which of ``thread_ids`` are ready (see ``list_ready``)."""
        if not thread_ids:
            return set()
        await self.setup()
        return await self._ready_among(list(dict.fromkeys(thread_ids)))

    # --- retention ---------------------------------------------------------------------

    async def delete_thread(self, thread_id: str) -> bool:
        """Delete the thread: its checkpoints, values, inbox rows and lease.

        Returns:
            ``True`` if there was anything to delete.
        """
        _check_ids(thread_id)
        await self.setup()
        self._held.drop(thread_id)
        return await self._delete_thread(thread_id)

    async def prune(self, thread_id: str, *, keep_last: int) -> int:
        """Drop all but the newest ``keep_last`` checkpoints of the thread.

        Kept checkpoints still load with their full values; values no kept checkpoint
        refers to are deleted.

        Returns:
            How many checkpoints were deleted.

        Raises:
            CheckpointUsageError: ``keep_last`` < 1 (use ``delete_thread``).
        """
        _check_ids(thread_id)
        _check_count("keep_last", keep_last)
        await self.setup()
        return await self._prune(thread_id, int(keep_last))

    async def purge_expired(self) -> int:
        """Delete every thread whose time-to-live has run out.

        A thread's expiry is fixed when a ``"done"`` checkpoint is written by a checkpointer
        with ``ttl_seconds``; any later put clears or resets it.

        Returns:
            How many threads were deleted (a backend with native key expiry removes them
            by itself and reports 0).
        """
        await self.setup()
        return await self._purge_expired(time.time())

    # --- what a backend implements -------------------------------------------------------

    @abstractmethod
    async def _setup(self) -> None: ...

    @abstractmethod
    async def _close(self) -> None: ...

    @abstractmethod
    async def _acquire(
        self, thread_id: str, owner: str, lease_seconds: float, now: float
    ) -> RawCheckpoint | None:
        """Take the lease (raising ``lease_conflict``) and read the latest checkpoint.

        A thread expired at ``now`` is deleted first, so it starts afresh.
        """

    async def _take_over(
        self, thread_id: str, owner: str, lease_seconds: float
    ) -> tuple[bool, RawCheckpoint | None]:
        """Take a lease whose holder is known dead; ``(False, None)`` if it is not.

        Only backends that can tell a dead holder (see ``locus.checkpoint.liveness``) take
        over; the default never does.
        """
        return False, None

    @abstractmethod
    async def _renew(self, thread_id: str, owner: str, lease_seconds: float) -> bool:
        """Extend an unexpired lease held by ``owner``; ``False`` if there is none."""

    @abstractmethod
    async def _release(self, thread_id: str, owner: str) -> bool: ...

    @abstractmethod
    async def _put(self, thread_id: str, owner: str, put: EncodedPut) -> int | None:
        """Write atomically if ``owner`` holds an unexpired lease; ``None`` if not."""

    @abstractmethod
    async def _get(self, thread_id: str, seq: int | None, now: float) -> RawCheckpoint | None:
        """Read one checkpoint, or ``None``; a thread expired at ``now`` does not exist."""

    @abstractmethod
    async def _history(
        self, thread_id: str, limit: int | None, now: float
    ) -> list[RawCheckpoint]: ...

    @abstractmethod
    async def _list_pending(self, limit: int, before: int | None) -> list[RawPending]:
        """Inbox rows with ``position < before`` (all if ``None``), highest position first."""

    @abstractmethod
    async def _find_pending(self, interrupt_id: str) -> RawPending | None: ...

    async def _find_pending_with_trail(
        self, interrupt_id: str
    ) -> tuple[RawPending, list[AuditRow]] | None:
        """The inbox row and its thread's trail; two reads unless a backend joins them."""
        row = await self._find_pending(interrupt_id)
        return None if row is None else (row, await self._read_audit(row.thread_id))

    @abstractmethod
    async def _append_audit(
        self,
        thread_id: str,
        rows: list[AuditRow],
        checkpoint: int,
        ready_graph: str | None,
        now: float,
    ) -> bool:
        """Append if the head is ``rows[0].seq - 1``, the latest checkpoint ``checkpoint``
        and the lease free; mark ready with ``ready_graph``. ``False`` on any mismatch."""

    @abstractmethod
    async def _read_audit(self, thread_id: str) -> list[AuditRow]: ...

    @abstractmethod
    async def _audit_feed(self, after: int, limit: int) -> list[AuditRow]: ...

    @abstractmethod
    async def _list_ready(self, graph: str | None, limit: int) -> list[str]: ...

    @abstractmethod
    async def _ready_among(self, thread_ids: list[str]) -> set[str]: ...

    @abstractmethod
    async def _delete_thread(self, thread_id: str) -> bool: ...

    @abstractmethod
    async def _prune(self, thread_id: str, keep_last: int) -> int: ...

    @abstractmethod
    async def _purge_expired(self, now: float) -> int: ...


# --- helpers shared by every backend ---------------------------------------------------------


def _check_positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise CheckpointUsageError(f"{name} must be a positive number, got {value!r}")


def _check_interrupt_id(interrupt_id: object) -> None:
    if not isinstance(interrupt_id, str) or not interrupt_id:
        raise CheckpointUsageError(f"an interrupt id is a non-empty str, got {interrupt_id!r}")


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CheckpointUsageError(f"{name} must be a positive int, got {value!r}")


def _parse_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if isinstance(cursor, str) and cursor[:1] == "p" and cursor[1:].isdigit():
        return int(cursor[1:])
    raise CheckpointUsageError(f"not a list_pending cursor: {cursor!r}")
