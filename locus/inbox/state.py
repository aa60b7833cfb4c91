"""Where each pending interrupt stands, read from its thread's audit trail.

The trail is the one record of answers: an ``answered`` entry holds the value, an
``escalated`` entry the new rules, ``timed_out``/``expired`` the answer the deadline gave.
Entries name the checkpoint of the pause they answer, so answers to an earlier pause of
the same thread never count for a later one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from locus.checkpoint import serializer
from locus.checkpoint.audit import AuditRow
from locus.checkpoint.types import TypeRegistry

__all__ = ["ItemState", "decode_value", "item_states", "payload_digest"]


@dataclass(slots=True)
class ItemState:
    """One interrupt of one pause: its current rules and the answers it has.

    Attributes:
        escalations: ``(at, step)`` of each escalation, in order.
        partial: ``(actor json, value tree, at)`` of each answer that did not complete it.
        complete: ``(kind, actor json, value tree, at)`` of the answer that counts.
    """

    escalations: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    partial: list[tuple[dict[str, Any] | None, Any, float]] = field(default_factory=list)
    complete: tuple[str, dict[str, Any] | None, Any, float] | None = None


_COMPLETING = {"answered", "timed_out", "expired"}


def item_states(rows: Iterable[AuditRow], checkpoint: int) -> dict[str, ItemState]:
    """The state of every interrupt of the pause stored as checkpoint ``checkpoint``."""
    states: dict[str, ItemState] = {}
    for row in rows:
        doc = json.loads(row.body)
        data = doc.get("data") or {}
        iid = doc.get("interrupt")
        if iid is None or data.get("checkpoint") != checkpoint:
            continue
        state = states.setdefault(iid, ItemState())
        kind = doc.get("kind")
        if kind == "escalated":
            state.escalations.append((float(doc["at"]), dict(data.get("step") or {})))
        elif kind in _COMPLETING and state.complete is None:
            entry = (doc.get("actor"), data.get("value"), float(doc["at"]))
            if data.get("complete", True):
                state.complete = (kind, *entry)
            else:
                state.partial.append(entry)
    return states


def payload_digest(payload_tree: Any) -> str:
    """sha256 of the canonical JSON of a payload's stored tree: what a reviewer saw."""
    text = json.dumps(payload_tree, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def decode_value(tree: Any, *, thread_id: str, types: TypeRegistry, what: str) -> Any:
    """Restore a stored value tree (an answer) to its values and registered classes."""
    return serializer.decode(
        serializer.dump_document(tree), what=what, thread_id=thread_id, types=types
    )


def answers_of(
    rows: Sequence[AuditRow], checkpoint: int
) -> dict[str, tuple[Any, dict[str, Any] | None]]:
    """The complete answers of a pause: interrupt id -> (value tree, actor json)."""
    return {
        iid: (state.complete[2], state.complete[1])
        for iid, state in item_states(rows, checkpoint).items()
        if state.complete is not None
    }
