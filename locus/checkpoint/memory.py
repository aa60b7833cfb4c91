"""``MemoryCheckpointer``: the contract in a dict, for tests and single-process use.

It stores the same serialized documents as the durable backends, so serialization errors,
copies on write and schema checks behave exactly as they do in production. Every method
runs without awaiting in between, which makes each one atomic on the event loop.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from locus.checkpoint.audit import AuditDraft, AuditRow, chain_fields
from locus.checkpoint.base import Checkpointer, lease_conflict
from locus.checkpoint.records import EncodedPut, RawCheckpoint, RawPending

__all__ = ["MemoryCheckpointer"]


@dataclass(slots=True)
class _Checkpoint:
    created_at: float
    status: str
    graph: str
    record: bytes
    manifest: dict[str, int]


#: an entry as kept here: (thread_id, seq, body, prev_hash, hash, position), made into an
#: ``AuditRow`` only when read (most entries are written and never read back)
_Entry = tuple[str, int, str, str, str, int]


@dataclass(slots=True)
class _Audit:
    """The audit trails, the feed's order and the ready marks (thread -> (graph, at))."""

    threads: dict[str, list[_Entry]] = field(default_factory=dict)
    feed: list[_Entry] = field(default_factory=list)
    ready: dict[str, tuple[str, float]] = field(default_factory=dict)

    def append(self, thread_id: str, rows: list[AuditRow]) -> None:
        trail = self.threads.setdefault(thread_id, [])
        for row in rows:
            position = len(self.feed) + 1
            stored = (row.thread_id, row.seq, row.body, row.prev_hash, row.hash, position)
            trail.append(stored)
            self.feed.append(stored)

    def add(self, thread_id: str, drafts: Sequence[AuditDraft]) -> None:
        """Chain ``drafts`` after the thread's last entry, numbered in the feed as made."""
        trail = self.threads.setdefault(thread_id, [])
        head_seq, head_hash = (trail[-1][1], trail[-1][4]) if trail else (0, "")
        position = len(self.feed)
        for fields in chain_fields(thread_id, head_seq, head_hash, drafts):
            position += 1
            stored = (*fields, position)
            trail.append(stored)
            self.feed.append(stored)

    def head(self, thread_id: str) -> tuple[int, str]:
        trail = self.threads.get(thread_id)
        return (trail[-1][1], trail[-1][4]) if trail else (0, "")


@dataclass(slots=True)
class _Thread:
    latest_seq: int = 0
    expires_at: float | None = None
    lease_owner: str | None = None
    lease_expires: float = 0.0
    checkpoints: dict[int, _Checkpoint] = field(default_factory=dict)
    blobs: dict[tuple[str, int], bytes] = field(default_factory=dict)
    positions: list[int] = field(default_factory=list)


class MemoryCheckpointer(Checkpointer):
    """Keeps threads in this process's memory; lost when the process exits.

    Args:
        ttl_seconds: see ``Checkpointer``.
        types: see ``Checkpointer``.
    """

    def __init__(self, *, ttl_seconds: float | None = None, types: Iterable[type] = ()) -> None:
        super().__init__(ttl_seconds=ttl_seconds, types=types)
        self._threads: dict[str, _Thread] = {}
        self._inbox: dict[int, RawPending] = {}
        self._positions = itertools.count(1)
        self._audit = _Audit()

    async def _setup(self) -> None:
        return None

    async def _close(self) -> None:
        return None

    def _live(self, thread_id: str, now: float) -> _Thread | None:
        thread = self._threads.get(thread_id)
        if thread is not None and _expired(thread, now):
            return None
        return thread

    async def _acquire(
        self, thread_id: str, owner: str, lease_seconds: float, now: float
    ) -> RawCheckpoint | None:
        thread = self._threads.get(thread_id)
        if thread is not None and _expired(thread, now):
            self._drop(thread_id)
            thread = None
        if thread is None:
            thread = self._threads[thread_id] = _Thread()
        holder = thread.lease_owner
        if holder is not None and holder != owner and thread.lease_expires > now:
            raise lease_conflict(thread_id, owner, holder)
        thread.lease_owner, thread.lease_expires = owner, now + lease_seconds
        return _raw(thread, thread.latest_seq) if thread.latest_seq else None

    async def _renew(self, thread_id: str, owner: str, lease_seconds: float) -> bool:
        thread = self._threads.get(thread_id)
        now = time.time()
        if thread is None or thread.lease_owner != owner or thread.lease_expires <= now:
            return False
        thread.lease_expires = now + lease_seconds
        return True

    async def _release(self, thread_id: str, owner: str) -> bool:
        thread = self._threads.get(thread_id)
        if thread is None or thread.lease_owner != owner:
            return False
        thread.lease_owner, thread.lease_expires = None, 0.0
        return True

    async def _put(self, thread_id: str, owner: str, put: EncodedPut) -> int | None:
        thread = self._threads.get(thread_id)
        now = time.time()
        if thread is None or thread.lease_owner != owner or thread.lease_expires <= now:
            return None
        if _expired(thread, now):
            return None
        seq = thread.latest_seq + 1
        previous = thread.checkpoints.get(thread.latest_seq)
        manifest = dict(previous.manifest) if previous else {}
        for key, data in put.blobs.items():
            thread.blobs[(key, seq)] = data
            manifest[key] = seq
        thread.checkpoints[seq] = _Checkpoint(
            put.created_at, put.status, put.graph, put.record, manifest
        )
        thread.latest_seq, thread.expires_at = seq, put.expires_at
        if put.release:
            thread.lease_owner, thread.lease_expires = None, 0.0
        self._clear_inbox(thread)
        if put.clear_ready:
            self._audit.ready.pop(thread_id, None)
        if put.audit:
            self._audit.add(thread_id, put.audit)
        # Positions are handed out last-to-first so the first interrupt lists first.
        for item in reversed(put.pending):
            position = next(self._positions)
            thread.positions.append(position)
            self._inbox[position] = RawPending(
                position=position,
                thread_id=thread_id,
                graph=put.graph,
                node=item.node,
                interrupt_id=item.interrupt_id,
                payload=item.payload,
                created_at=put.created_at,
                seq=seq,
            )
        return seq

    async def _get(self, thread_id: str, seq: int | None, now: float) -> RawCheckpoint | None:
        thread = self._live(thread_id, now)
        if thread is None:
            return None
        seq = thread.latest_seq if seq is None else seq
        return _raw(thread, seq) if seq in thread.checkpoints else None

    async def _history(self, thread_id: str, limit: int | None, now: float) -> list[RawCheckpoint]:
        thread = self._live(thread_id, now)
        if thread is None:
            return []
        seqs = sorted(thread.checkpoints, reverse=True)[:limit]
        return [_raw(thread, seq) for seq in seqs]

    async def _list_pending(self, limit: int, before: int | None) -> list[RawPending]:
        rows: list[RawPending] = []
        for position in reversed(self._inbox):
            if before is not None and position >= before:
                continue
            rows.append(self._inbox[position])
            if len(rows) == limit:
                break
        return rows

    async def _find_pending(self, interrupt_id: str) -> RawPending | None:
        for row in self._inbox.values():
            if row.interrupt_id == interrupt_id:
                return row
        return None

    async def _append_audit(
        self,
        thread_id: str,
        rows: list[AuditRow],
        checkpoint: int,
        ready_graph: str | None,
        now: float,
    ) -> bool:
        thread = self._live(thread_id, now)
        if thread is None or thread.latest_seq != checkpoint:
            return False
        if thread.lease_owner is not None and thread.lease_expires > now:
            return False
        if self._audit.head(thread_id)[0] != rows[0].seq - 1:
            return False
        self._audit.append(thread_id, rows)
        if ready_graph is not None:
            self._audit.ready.setdefault(thread_id, (ready_graph, now))
        return True

    async def _read_audit(self, thread_id: str) -> list[AuditRow]:
        return [AuditRow(*e) for e in self._audit.threads.get(thread_id, ())]

    async def _audit_feed(self, after: int, limit: int) -> list[AuditRow]:
        return [AuditRow(*e) for e in self._audit.feed[after : after + limit]]

    async def _list_ready(self, graph: str | None, limit: int) -> list[str]:
        found = sorted(
            (at, tid) for tid, (g, at) in self._audit.ready.items() if graph in (None, g)
        )
        return [tid for _, tid in found[:limit]]

    async def _ready_among(self, thread_ids: list[str]) -> set[str]:
        return {tid for tid in thread_ids if tid in self._audit.ready}

    async def _delete_thread(self, thread_id: str) -> bool:
        return self._drop(thread_id)

    async def _prune(self, thread_id: str, keep_last: int) -> int:
        thread = self._threads.get(thread_id)
        if thread is None:
            return 0
        kept = sorted(thread.checkpoints, reverse=True)[:keep_last]
        dropped = [seq for seq in thread.checkpoints if seq not in kept]
        for seq in dropped:
            del thread.checkpoints[seq]
        needed = {(k, v) for seq in kept for k, v in thread.checkpoints[seq].manifest.items()}
        for blob in [blob for blob in thread.blobs if blob not in needed]:
            del thread.blobs[blob]
        return len(dropped)

    async def _purge_expired(self, now: float) -> int:
        expired = [tid for tid, thread in self._threads.items() if _expired(thread, now)]
        for thread_id in expired:
            self._drop(thread_id)
        return len(expired)

    def _drop(self, thread_id: str) -> bool:
        thread = self._threads.pop(thread_id, None)
        if thread is None:
            return False
        self._clear_inbox(thread)
        self._audit.ready.pop(thread_id, None)
        return True

    def _clear_inbox(self, thread: _Thread) -> None:
        for position in thread.positions:
            self._inbox.pop(position, None)
        thread.positions.clear()

    def stored_bytes(self, thread_id: str) -> int:
        """Bytes of stored documents for the thread (values and records); for benchmarks."""
        thread = self._threads.get(thread_id)
        if thread is None:
            return 0
        return sum(map(len, thread.blobs.values())) + sum(
            len(cp.record) for cp in thread.checkpoints.values()
        )


def _expired(thread: _Thread, now: float) -> bool:
    return thread.expires_at is not None and thread.expires_at <= now


def _raw(thread: _Thread, seq: int) -> RawCheckpoint:
    cp = thread.checkpoints[seq]
    return RawCheckpoint(
        seq=seq,
        created_at=cp.created_at,
        status=cp.status,
        graph=cp.graph,
        record=cp.record,
        blobs={key: thread.blobs.get((key, version)) for key, version in cp.manifest.items()},
    )
