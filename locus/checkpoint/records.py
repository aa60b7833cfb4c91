"""The data a checkpointer hands out, and the raw rows a backend hands to the base class."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict

from locus.checkpoint.audit import AuditDraft

__all__ = [
    "STATUSES",
    "CheckpointStatus",
    "EncodedPending",
    "EncodedPut",
    "PendingInterrupt",
    "PendingItem",
    "PendingPage",
    "RawCheckpoint",
    "RawPending",
    "StoredCheckpoint",
]

CheckpointStatus = Literal["running", "paused", "done"]
"""Where a thread stood when a checkpoint was written."""

STATUSES: frozenset[str] = frozenset({"running", "paused", "done"})


class PendingInterrupt(TypedDict):
    """One unanswered ``interrupt()``: its id, the node that asked, what it asked with, and
    (when the writer gave it) the JSON Schema an answer must match.
    """

    id: str
    node: str
    payload: Any
    response_schema: NotRequired[dict[str, Any] | None]
    ask: NotRequired[dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """One step of a thread as it was saved, fully loaded.

    Every load builds fresh objects, so mutating ``values`` (or anything inside) never
    changes what is stored, and two loads never share objects.

    Attributes:
        thread_id: the thread.
        seq: 1, 2, 3, ... in the order the checkpoints were written.
        created_at: when it was written (UTC).
        status: ``"running"``, ``"paused"`` or ``"done"``.
        graph: the graph's name.
        values: the whole state at this step (earlier values plus this step's changes).
        run: the runtime's bookkeeping, as it was passed to ``put``.
        pending: the interrupts waiting for an answer.
    """

    thread_id: str
    seq: int
    created_at: dt.datetime
    status: CheckpointStatus
    graph: str
    values: dict[str, Any]
    run: dict[str, Any]
    pending: list[PendingInterrupt]


@dataclass(frozen=True, slots=True)
class PendingItem:
    """One row of the inbox: an interrupt waiting on a paused thread.

    Attributes:
        thread_id: the paused thread.
        graph: its graph's name.
        node: the node that asked.
        interrupt_id: the id to answer with.
        payload: what the node asked with.
        created_at: when the thread paused (UTC).
        seq: the checkpoint that holds the pause.
        response_schema: the JSON Schema an answer must match, to draw the answer form
            before anyone answers (a ``tool_approval`` has one); ``None`` when the
            interrupt declared none.
        ask: the stored rules of ``interrupt(deadline=..., on_timeout=..., answerers=...)``
            (see ``locus.inbox.rules``); ``None`` when it declared none.
        position: the row's place in the store's inbox (higher is newer).
    """

    thread_id: str
    graph: str
    node: str
    interrupt_id: str
    payload: Any
    created_at: dt.datetime
    seq: int
    response_schema: dict[str, Any] | None = None
    ask: dict[str, Any] | None = None
    position: int = 0


@dataclass(frozen=True, slots=True)
class PendingPage:
    """A page of ``list_pending``: newest first; pass ``next_cursor`` to get the next page.

    Attributes:
        items: up to ``limit`` rows.
        next_cursor: an opaque token for the following page, or ``None`` on the last page.
    """

    items: list[PendingItem]
    next_cursor: str | None


# --- between the base class and a backend -------------------------------------------------


@dataclass(frozen=True, slots=True)
class EncodedPending:
    """A pending interrupt ready for the inbox table; ``payload`` is a stored document.

    The document's envelope also carries the interrupt's response schema, so a backend
    stores one document per row whatever the interrupt declared.
    """

    interrupt_id: str
    node: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class EncodedPut:
    """Everything a put writes, already serialized, so a backend only stores bytes.

    Attributes:
        blobs: one stored document per changed state key (unchanged keys are absent).
        record: the checkpoint's own document (``run`` and ``pending``).
        pending: inbox rows, in the order the interrupts were given; empty unless paused.
        status: the checkpoint's status.
        graph: the graph's name.
        created_at: seconds since the epoch.
        write_id: unique per put; lets a backend retry a put whose outcome it did not see.
        expires_at: when the thread expires (a ``"done"`` put with a ``ttl_seconds``), in
            seconds since the epoch; ``None`` keeps it.
        release: drop the writer's lease in the same transaction.
        audit: entries to append to the thread's audit trail in the same transaction
            (chained by the backend after the thread's last entry).
        clear_ready: drop the thread's ready mark (the put consumes the stored answers).
    """

    blobs: dict[str, bytes]
    record: bytes
    pending: list[EncodedPending]
    status: str
    graph: str
    created_at: float
    write_id: str
    expires_at: float | None
    release: bool
    audit: tuple[AuditDraft, ...] = ()
    clear_ready: bool = False


@dataclass(slots=True)
class RawCheckpoint:
    """A checkpoint as a backend read it: ``blobs`` maps each state key to its document.

    A key whose document is missing from storage maps to ``None``; the base class reports
    that as damage rather than loading a partial state.
    """

    seq: int
    created_at: float
    status: str
    graph: str
    record: bytes
    blobs: dict[str, bytes | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RawPending:
    """An inbox row as a backend read it; ``position`` orders the pages (higher is newer)."""

    position: int
    thread_id: str
    graph: str
    node: str
    interrupt_id: str
    payload: bytes
    created_at: float
    seq: int
