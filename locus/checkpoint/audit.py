"""The audit trail's stored form: one hash-chained entry per event of a thread.

Each entry is a canonical JSON ``body`` (thread, per-thread ``seq``, time, kind, interrupt,
node, actor, data) and ``hash = sha256(prev_hash + "\\n" + body)``, ``prev_hash`` being the
hash of the thread's previous entry (``""`` for the first). A changed, removed or reordered
entry breaks the chain, which ``verify_chain`` reports. Backends store entries as they are
given (append only) and number them store-wide (``position``) for the feed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AUDIT_VERSION",
    "AuditCheck",
    "AuditDraft",
    "AuditEntry",
    "AuditRow",
    "chain",
    "chain_fields",
    "entry_of",
    "payload_digest",
    "verify_chain",
]

#: the version written into every body; a reader refuses bodies of other versions
AUDIT_VERSION = 1


@dataclass(frozen=True, slots=True)
class AuditDraft:
    """An entry before the store numbers and chains it."""

    kind: str
    at: float
    interrupt_id: str | None = None
    node: str | None = None
    actor: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditRow:
    """An entry as stored: its per-thread ``seq``, canonical ``body`` and the chain hashes.

    ``position`` is the store-wide order, 0 until the store assigned one (PostgreSQL
    numbers entries in commit order when a feed reads them).
    """

    thread_id: str
    seq: int
    body: str
    prev_hash: str
    hash: str
    position: int = 0


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One event of a thread's audit trail.

    Attributes:
        position: store-wide, increasing in commit order (``Inbox.feed``); 0 in a trail
            read before any feed read numbered the entry (PostgreSQL).
        thread_id: the thread.
        seq: 1, 2, 3, ... within the thread.
        at: when it happened (UTC).
        kind: ``"asked"``, ``"answered"``, ``"refused"``, ``"escalated"``, ``"timed_out"``,
            ``"expired"``, ``"resumed"`` or ``"finished"``.
        interrupt_id: the interrupt it is about, if any.
        node: the node that asked, if any.
        actor: who acted (``locus.inbox.Actor``), if anyone.
        data: the details (payload digest, deadline, value, reason, why refused, ...).
        prev_hash: the previous entry's hash (``""`` for the first).
        hash: this entry's hash.
    """

    position: int
    thread_id: str
    seq: int
    at: dt.datetime
    kind: str
    interrupt_id: str | None
    node: str | None
    actor: Any
    data: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditCheck:
    """What ``verify_audit`` found: ``ok`` when ``problems`` is empty."""

    ok: bool
    problems: list[str]


# The body is hashed as stored, so it needs no canonical key order; a payload digest is
# recomputed from the payload by readers, so it does.
_encode_body = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
_encode_canonical = json.JSONEncoder(
    ensure_ascii=True, separators=(",", ":"), sort_keys=True
).encode
# An entry is written with every pause and resume, so its encoding skips what
# ``JSONEncoder.encode`` redoes per call (building its C encoder). Both produce the same
# text; without the C accelerator the plain encoders serve. The trees encoded here are
# stored data or built below, never cyclic, so no cycle markers are kept.
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_quote = json.encoder.encode_basestring_ascii


def _reusable(sort_keys: bool, plain: Callable[[Any], str]) -> Callable[[Any], str]:
    if _c_make_encoder is None:  # pragma: no cover - CPython has the accelerator
        return plain
    encoder = _c_make_encoder(None, None, _quote, None, ":", ",", sort_keys, False, True)

    def encode(tree: Any) -> str:
        return "".join(encoder(tree, 0)) if type(tree) is dict else plain(tree)

    return encode


_encode_tree = _reusable(False, _encode_body)
_canonical = _reusable(True, _encode_canonical)


def payload_digest(payload_tree: Any) -> str:
    """sha256 of the canonical JSON of a payload's stored tree: what a reviewer saw."""
    return hashlib.sha256(_canonical(payload_tree).encode()).hexdigest()


def _digest(prev_hash: str, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _text(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def _body(thread_id: str, seq: int, draft: AuditDraft) -> str:
    # the text _encode_body gives for {"v", "thread", "seq", "at", "kind", "interrupt",
    # "node", "actor", "data"} in this order, assembled from its parts
    at = draft.at
    actor = draft.actor
    return (
        f'{{"v":{AUDIT_VERSION},"thread":{_quote(thread_id)},"seq":{int(seq)},'
        f'"at":{float.__repr__(at) if type(at) is float and at - at == 0 else _encode_body(at)},'
        f'"kind":{_quote(draft.kind)},"interrupt":{_text(draft.interrupt_id)},'
        f'"node":{_text(draft.node)},"actor":{"null" if actor is None else _encode_tree(actor)},'
        f'"data":{_encode_tree(draft.data)}}}'
    )


def chain_fields(
    thread_id: str, head_seq: int, head_hash: str, drafts: Sequence[AuditDraft]
) -> list[tuple[str, int, str, str, str]]:
    """``chain`` as plain ``(thread_id, seq, body, prev_hash, hash)`` tuples (SQL parameters)."""
    rows = []
    seq, prev = head_seq, head_hash
    for draft in drafts:
        seq += 1
        body = _body(thread_id, seq, draft)
        digest = _digest(prev, body)
        rows.append((thread_id, seq, body, prev, digest))
        prev = digest
    return rows


def chain(
    thread_id: str,
    head_seq: int,
    head_hash: str,
    drafts: Sequence[AuditDraft],
    first_position: int = 0,
) -> list[AuditRow]:
    """Number and hash ``drafts`` after the thread's entry ``head_seq`` (hash ``head_hash``).

    With ``first_position``, the rows are also given store-wide positions from it on.
    """
    if first_position:
        return [
            AuditRow(*fields, first_position + i)
            for i, fields in enumerate(chain_fields(thread_id, head_seq, head_hash, drafts))
        ]
    return [AuditRow(*fields) for fields in chain_fields(thread_id, head_seq, head_hash, drafts)]


def entry_of(row: AuditRow) -> AuditEntry:
    """Load a stored row (its body) into an ``AuditEntry``."""
    from locus.inbox.rules import Actor

    doc = json.loads(row.body)
    return AuditEntry(
        position=row.position,
        thread_id=row.thread_id,
        seq=row.seq,
        at=dt.datetime.fromtimestamp(float(doc["at"]), tz=dt.UTC),
        kind=str(doc["kind"]),
        interrupt_id=doc.get("interrupt"),
        node=doc.get("node"),
        actor=Actor.from_json(doc.get("actor")),
        data=dict(doc.get("data") or {}),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def verify_chain(thread_id: str, rows: Sequence[AuditRow]) -> AuditCheck:
    """Check a thread's stored rows (in stored ``seq`` order) link and hash correctly."""
    problems: list[str] = []
    prev = ""
    for expected, row in enumerate(rows, start=1):
        if row.seq != expected:
            problems.append(f"entry {expected} is missing (found entry {row.seq} in its place)")
        try:
            doc = json.loads(row.body)
            body_seq, body_thread = doc.get("seq"), doc.get("thread")
        except (ValueError, AttributeError):
            problems.append(f"entry {row.seq}: its body is not valid JSON")
            body_seq = body_thread = None
        if body_seq != row.seq or body_thread != thread_id:
            problems.append(
                f"entry {row.seq}: its body says thread {body_thread!r} entry {body_seq!r} "
                "(moved or reordered)"
            )
        if row.prev_hash != prev:
            problems.append(f"entry {row.seq}: it does not follow the entry before it")
        if _digest(row.prev_hash, row.body) != row.hash:
            problems.append(f"entry {row.seq}: its content was changed after it was written")
        prev = row.hash
    return AuditCheck(ok=not problems, problems=problems)
