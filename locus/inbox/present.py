"""How items and audit entries read: JSON for the API and the CLI, one-line summaries, due times."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from locus.inbox import AuditEntry, InboxItem

__all__ = [
    "audit_json",
    "due_text",
    "item_json",
    "item_kind",
    "item_summary",
    "plain",
    "pretty",
]


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses as dicts, sets sorted, datetimes ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def item_json(item: InboxItem) -> dict[str, Any]:
    """One pending item as the API shows it."""
    return {
        "id": item.id,
        "thread_id": item.thread_id,
        "graph": item.graph,
        "node": item.node,
        "payload": plain(item.payload),
        "response_schema": item.response_schema,
        "created_at": item.created_at.isoformat(),
        "deadline": item.deadline.isoformat() if item.deadline else None,
        "answerers": plain(item.answerers),
        "digest": item.digest,
        "answers": plain(item.answers),
    }


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    """One audit entry as the API shows it."""
    return {
        "position": entry.position,
        "thread_id": entry.thread_id,
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "kind": entry.kind,
        "interrupt_id": entry.interrupt_id,
        "node": entry.node,
        "actor": plain(entry.actor),
        "data": plain(entry.data),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def item_kind(item: InboxItem) -> str:
    """``tool_approval``, ``form`` (a response schema), ``options``, or ``text``."""
    payload = item.payload
    if isinstance(payload, dict) and payload.get("type") == "tool_approval":
        return "tool_approval"
    if item.response_schema:
        return "form"
    if isinstance(payload, dict) and isinstance(payload.get("options"), list):
        return "options"
    return "text"


def item_summary(item: InboxItem) -> str:
    """One line saying what the item asks."""
    payload = item.payload
    if isinstance(payload, dict):
        if payload.get("type") == "tool_approval":
            return f"Run tool {payload.get('tool')!s}?"
        for key in ("question", "title", "message", "prompt"):
            if isinstance(payload.get(key), str):
                return str(payload[key])
    if isinstance(payload, str):
        return payload
    text = json.dumps(plain(payload), ensure_ascii=False)
    return text if len(text) <= 100 else text[:97] + "..."


def due_text(deadline: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """``in 4 min``, ``3 h overdue`` and so on; empty without a deadline."""
    if deadline is None:
        return ""
    now = now or dt.datetime.now(dt.UTC)
    seconds = (deadline - now).total_seconds()
    span = abs(seconds)
    if span < 90:
        amount = f"{int(span)} s"
    elif span < 5400:
        amount = f"{round(span / 60)} min"
    elif span < 172800:
        amount = f"{round(span / 3600)} h"
    else:
        amount = f"{round(span / 86400)} d"
    return f"in {amount}" if seconds >= 0 else f"{amount} overdue"


def pretty(value: Any) -> str:
    """A value as indented JSON, for the key/value view."""
    if isinstance(value, str):
        return value
    return json.dumps(plain(value), indent=2, ensure_ascii=False)
