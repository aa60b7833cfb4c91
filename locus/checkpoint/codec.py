"""Between values and bytes: what ``put`` stores and what a read gives back.

Used by ``Checkpointer`` for every backend, so each backend stores and loads only the
bytes these functions produce and consume. The names a backend stores as text (thread ids,
owners, state keys, graph and node names, interrupt ids) are checked here too, once for
every backend: each must be valid Unicode text without NUL, which every store can hold.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

from locus.checkpoint import serializer
from locus.checkpoint.audit import AuditDraft, payload_digest
from locus.checkpoint.records import (
    STATUSES,
    CheckpointStatus,
    EncodedPending,
    EncodedPut,
    PendingInterrupt,
    PendingItem,
    RawCheckpoint,
    RawPending,
    StoredCheckpoint,
)
from locus.checkpoint.types import TypeRegistry
from locus.errors import CheckpointError, CheckpointUsageError, StateSerializationError

__all__ = [
    "check_ids",
    "check_state_key",
    "encode_put",
    "materialise",
    "pending_item",
    "storable_text",
]


def storable_text(text: str) -> bool:
    """Whether every store can hold ``text`` as a name: UTF-8 encodable, no NUL."""
    if text.isascii():  # the common case: one scan, no copy
        return "\x00" not in text
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def check_ids(thread_id: str, owner: str | None = None) -> None:
    """Check a thread id (and an owner) before any backend sees it.

    Raises:
        CheckpointUsageError: not a non-empty str, or text no store can hold (a NUL or a
            lone surrogate); the message shows it with ``repr``.
    """
    if not isinstance(thread_id, str) or not thread_id or not storable_text(thread_id):
        raise CheckpointUsageError(
            f"thread_id must be a non-empty str of valid Unicode text without NUL, got "
            f"{thread_id!r}"
        )
    if owner is not None and (not isinstance(owner, str) or not owner or not storable_text(owner)):
        raise CheckpointUsageError(
            f"owner must be a non-empty str of valid Unicode text without NUL, got {owner!r} "
            f"(thread {thread_id!r})"
        )


#: a pending interrupt's response schema, in ``put``'s pending entries and the stored forms
_SCHEMA = "response_schema"


def check_state_key(key: str, thread_id: str) -> None:
    """Refuse a state key no store can hold (a NUL or a lone surrogate).

    Raises:
        StateSerializationError: naming the key (``repr``) and the thread.
    """
    if not storable_text(key):
        raise StateSerializationError(
            f"cannot store state key {key!r} of thread {thread_id!r}: a state key must be "
            "valid Unicode text without NUL (no lone surrogate), which every store can "
            "hold; rename the key"
        )


def encode_put(
    thread_id: str,
    changes: Mapping[str, Any],
    status: str,
    run: Mapping[str, Any],
    pending: Sequence[Mapping[str, Any]],
    graph: str,
    ttl_seconds: float | None,
    release: bool,
    types: TypeRegistry | None = None,
    audit: Sequence[AuditDraft] = (),
    clear_ready: bool = False,
    audit_asked: bool = False,
) -> EncodedPut:
    """Check and serialize one put completely, so that a backend only writes bytes.

    Raises:
        StateSerializationError: a state key no store can hold (a NUL or a lone
            surrogate), or a value in ``changes``, ``run`` or a pending payload that
            cannot be stored (the message names its path, the cause and the thread).
        CheckpointUsageError: a bad status, graph name, state key type or pending entry.
    """
    if status not in STATUSES:
        raise CheckpointUsageError(
            f"status must be one of {sorted(STATUSES)}, got {status!r} (thread {thread_id!r})"
        )
    if not isinstance(graph, str) or not storable_text(graph):
        raise CheckpointUsageError(
            f"graph must be a str of valid Unicode text without NUL, got {graph!r} "
            f"(thread {thread_id!r})"
        )
    if not isinstance(changes, Mapping) or not isinstance(run, Mapping):
        raise CheckpointUsageError(f"changes and run must be mappings (thread {thread_id!r})")
    blobs: dict[str, bytes] = {}
    for key, value in changes.items():
        if not isinstance(key, str):
            raise CheckpointUsageError(
                f"state keys must be str, got {key!r} in changes of thread {thread_id!r}"
            )
        if key.startswith("__"):
            continue
        # the common case (ASCII without NUL) inline: this runs for every key of every put
        if not (key.isascii() and "\x00" not in key):
            check_state_key(key, thread_id)
        blobs[key] = serializer.encode(
            value, root=f"state[{key!r}]", thread_id=thread_id, types=types
        )
    # payloads first: the run record repeats them, and an error should name the interrupt
    pending_trees: list[dict[str, Any]] = []
    parts: list[tuple[Any, str, str]] = []
    seen: set[str] = set()
    for i, item in enumerate(pending):
        interrupt_id, node, schema = _check_pending(thread_id, i, item, seen)
        root, about = f"pending[{i}]['payload']", f"interrupt {interrupt_id!r} of node {node!r}"
        tree = serializer.to_tree(
            item["payload"], root=root, about=about, thread_id=thread_id, types=types
        )
        entry = {"id": interrupt_id, "node": node, "payload": tree}
        ask = item.get("ask")
        if ask is not None:
            entry["ask"] = serializer.to_tree(
                ask, root=f"pending[{i}]['ask']", about=about, thread_id=thread_id
            )
        if schema is not None:
            entry[_SCHEMA] = serializer.to_tree(
                schema, root=f"pending[{i}][{_SCHEMA!r}]", about=about, thread_id=thread_id
            )
            parts.append((schema, f"pending[{i}][{_SCHEMA!r}]", about))
        pending_trees.append(entry)
        parts.append((item["payload"], root, about))
    run_tree = serializer.to_tree(dict(run), root="run", thread_id=thread_id, types=types)
    parts.append((run, "run", ""))
    try:
        record = serializer.dump_document({"run": run_tree, "pending": pending_trees})
    except ValueError:
        raise serializer.explain_unwritable(parts, thread_id) from None
    inbox: list[EncodedPending] = []
    created_at = time.time()
    drafts = list(audit)
    if status == "paused":
        for p in pending_trees:  # each dumps fine: the record holding them all did
            extra = {_SCHEMA: p[_SCHEMA]} if _SCHEMA in p else {}
            if "ask" in p:
                extra["ask"] = p["ask"]
            document = serializer.dump_document(p["payload"], **extra)
            inbox.append(EncodedPending(p["id"], p["node"], document))
            if audit_asked:
                data = {"digest": payload_digest(p["payload"]), "ask": p.get("ask")}
                drafts.append(AuditDraft("asked", created_at, p["id"], p["node"], None, data))
    return EncodedPut(
        blobs=blobs,
        record=record,
        pending=inbox,
        status=status,
        graph=graph,
        created_at=created_at,
        write_id=os.urandom(16).hex(),  # 128 random bits, as uuid4 gives, without its object
        expires_at=created_at + ttl_seconds if ttl_seconds and status == "done" else None,
        release=bool(release),
        audit=tuple(drafts),
        clear_ready=clear_ready,
    )


def _check_pending(
    thread_id: str, i: int, item: Mapping[str, Any], seen: set[str]
) -> tuple[str, str, dict[str, Any] | None]:
    if not isinstance(item, Mapping) or "payload" not in item:
        raise CheckpointUsageError(
            f"pending[{i}] of thread {thread_id!r} must be a mapping with id, node and payload"
        )
    interrupt_id, node = item.get("id"), item.get("node")
    if (
        not isinstance(interrupt_id, str)
        or not interrupt_id
        or not isinstance(node, str)
        or not storable_text(interrupt_id)
        or not storable_text(node)
    ):
        raise CheckpointUsageError(
            f"pending[{i}] of thread {thread_id!r} needs a non-empty str 'id' and a str "
            f"'node', both valid Unicode text without NUL, got id={interrupt_id!r} "
            f"node={node!r}"
        )
    if interrupt_id in seen:
        raise CheckpointUsageError(
            f"pending[{i}] of thread {thread_id!r} repeats interrupt id {interrupt_id!r}"
        )
    seen.add(interrupt_id)
    schema = item.get(_SCHEMA)
    if schema is not None and not isinstance(schema, Mapping):
        raise CheckpointUsageError(
            f"pending[{i}] of thread {thread_id!r}: {_SCHEMA!r} must be a JSON Schema dict "
            f"or None, got {type(schema).__name__}"
        )
    return interrupt_id, node, None if schema is None else dict(schema)


def materialise(
    thread_id: str, raw: RawCheckpoint, types: TypeRegistry | None = None
) -> StoredCheckpoint:
    """Load a checkpoint read by a backend into fresh values.

    Args:
        thread_id: the thread.
        raw: what the backend read.
        types: the classes stored names may be restored to (the process-wide by default).

    Raises:
        SchemaVersionError: a document has a schema version this release cannot read.
        UnknownStoredTypeError: a document names a class that is not registered.
        CheckpointError: a document is damaged, nested too deep, or missing.
    """
    what = f"checkpoint {raw.seq}"
    record = serializer.decode(raw.record, what=what, thread_id=thread_id, types=types)
    values: dict[str, Any] = {}
    for key, data in sorted(raw.blobs.items()):
        if data is None:
            raise CheckpointError(
                f"{what} of thread {thread_id!r} refers to state[{key!r}], which is missing "
                "from storage"
            )
        values[key] = serializer.decode(
            data, what=f"state[{key!r}] ({what})", thread_id=thread_id, types=types
        )
    return StoredCheckpoint(
        thread_id=thread_id,
        seq=raw.seq,
        created_at=_utc(raw.created_at),
        status=cast(CheckpointStatus, raw.status),
        graph=raw.graph,
        values=values,
        run=record["run"],
        pending=cast(list[PendingInterrupt], record["pending"]),
    )


def pending_item(row: RawPending, types: TypeRegistry | None = None) -> PendingItem:
    """Load an inbox row read by a backend.

    Raises:
        SchemaVersionError, UnknownStoredTypeError, CheckpointError: as ``materialise``.
    """
    document = serializer.decode_document(
        row.payload,
        what=f"pending interrupt {row.interrupt_id!r}",
        thread_id=row.thread_id,
        types=types,
    )
    return PendingItem(
        thread_id=row.thread_id,
        graph=row.graph,
        node=row.node,
        interrupt_id=row.interrupt_id,
        payload=document["d"],
        created_at=_utc(row.created_at),
        seq=row.seq,
        response_schema=document.get(_SCHEMA),
        ask=document.get("ask"),
        position=row.position,
    )


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
