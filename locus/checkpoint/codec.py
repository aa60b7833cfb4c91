"""Between values and bytes: what ``put`` stores and what a read gives back.

Used by ``Checkpointer`` for every backend, so each backend stores and loads only the
bytes these functions produce and consume.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

from locus.checkpoint import serializer
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
from locus.errors import CheckpointError, CheckpointUsageError

__all__ = ["encode_put", "materialise", "pending_item"]

#: a pending interrupt's response schema, in ``put``'s pending entries and the stored forms
_SCHEMA = "response_schema"


def encode_put(
    thread_id: str,
    changes: Mapping[str, Any],
    status: str,
    run: Mapping[str, Any],
    pending: Sequence[Mapping[str, Any]],
    graph: str,
    ttl_seconds: float | None,
    release: bool,
) -> EncodedPut:
    """Check and serialize one put completely, so that a backend only writes bytes.

    Raises:
        StateSerializationError: a value in ``changes``, ``run`` or a pending payload
            cannot be stored (the message names its path, its type and the thread).
        CheckpointUsageError: a bad status, graph, state key or pending entry.
    """
    if status not in STATUSES:
        raise CheckpointUsageError(
            f"status must be one of {sorted(STATUSES)}, got {status!r} (thread {thread_id!r})"
        )
    if not isinstance(graph, str):
        raise CheckpointUsageError(f"graph must be a str, got {graph!r} (thread {thread_id!r})")
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
        blobs[key] = serializer.encode(value, root=f"state[{key!r}]", thread_id=thread_id)
    run_tree = serializer.to_tree(dict(run), root="run", thread_id=thread_id)
    pending_trees: list[dict[str, Any]] = []
    inbox: list[EncodedPending] = []
    seen: set[str] = set()
    for i, item in enumerate(pending):
        interrupt_id, node, schema = _check_pending(thread_id, i, item, seen)
        tree = serializer.to_tree(
            item["payload"], root=f"pending[{i}]['payload']", thread_id=thread_id
        )
        entry = {"id": interrupt_id, "node": node, "payload": tree}
        extra = {}
        if schema is not None:
            entry[_SCHEMA] = extra[_SCHEMA] = serializer.to_tree(
                schema, root=f"pending[{i}][{_SCHEMA!r}]", thread_id=thread_id
            )
        pending_trees.append(entry)
        if status == "paused":
            document = serializer.dump_document(tree, **extra)
            inbox.append(EncodedPending(interrupt_id, node, document))
    record = serializer.dump_document({"run": run_tree, "pending": pending_trees})
    created_at = time.time()
    return EncodedPut(
        blobs=blobs,
        record=record,
        pending=inbox,
        status=status,
        graph=graph,
        created_at=created_at,
        write_id=uuid.uuid4().hex,
        expires_at=created_at + ttl_seconds if ttl_seconds and status == "done" else None,
        release=bool(release),
    )


def _check_pending(
    thread_id: str, i: int, item: Mapping[str, Any], seen: set[str]
) -> tuple[str, str, dict[str, Any] | None]:
    if not isinstance(item, Mapping) or "payload" not in item:
        raise CheckpointUsageError(
            f"pending[{i}] of thread {thread_id!r} must be a mapping with id, node and payload"
        )
    interrupt_id, node = item.get("id"), item.get("node")
    if not isinstance(interrupt_id, str) or not interrupt_id or not isinstance(node, str):
        raise CheckpointUsageError(
            f"pending[{i}] of thread {thread_id!r} needs a non-empty str 'id' and a str "
            f"'node', got id={interrupt_id!r} node={node!r}"
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


def materialise(thread_id: str, raw: RawCheckpoint) -> StoredCheckpoint:
    """Load a checkpoint read by a backend into fresh values.

    Raises:
        SchemaVersionError: a document has a schema version this release cannot read.
        CheckpointError: a document is damaged or missing.
    """
    what = f"checkpoint {raw.seq}"
    record = serializer.decode(raw.record, what=what, thread_id=thread_id)
    values: dict[str, Any] = {}
    for key, data in sorted(raw.blobs.items()):
        if data is None:
            raise CheckpointError(
                f"{what} of thread {thread_id!r} refers to state[{key!r}], which is missing "
                "from storage"
            )
        values[key] = serializer.decode(data, what=f"state[{key!r}] ({what})", thread_id=thread_id)
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


def pending_item(row: RawPending) -> PendingItem:
    """Load an inbox row read by a backend.

    Raises:
        SchemaVersionError, CheckpointError: as ``materialise``.
    """
    document = serializer.decode_document(
        row.payload, what=f"pending interrupt {row.interrupt_id!r}", thread_id=row.thread_id
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
    )


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
