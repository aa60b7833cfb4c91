"""The data a pause leaves for the execution that resumes it, and interrupt event fields.

Plain Python: read by the runtime whether or not OpenTelemetry is loaded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from locus.multiagent.run_state import PendingInterrupt

__all__ = ["LinkData", "interrupt_attributes", "parse_link"]


@dataclass(frozen=True, slots=True)
class LinkData:
    """The span context a run's marker recorded, read back (``state``: paused/running)."""

    trace_id: int
    span_id: int
    flags: int
    state: str
    paused_at: float | None


def parse_link(data: Any) -> LinkData | None:
    """Read the marker's ``trace`` entry; anything malformed (it is stored data) is ``None``.

    ``trace_id`` and ``span_id`` are 0 when the pausing process recorded only the time.
    """
    if not isinstance(data, dict):
        return None
    try:
        trace_id = int(str(data.get("trace_id", "0")), 16)
        span_id = int(str(data.get("span_id", "0")), 16)
        flags = int(data.get("flags", 1)) & 0xFF
    except (TypeError, ValueError):
        return None
    if not (0 < trace_id < 1 << 128 and 0 < span_id < 1 << 64):
        trace_id = span_id = 0
    paused_at = data.get("paused_at")
    paused = float(paused_at) if isinstance(paused_at, int | float) else None
    return LinkData(trace_id, span_id, flags, str(data.get("state", "")), paused)


def interrupt_attributes(pending: PendingInterrupt) -> dict[str, Any]:
    """An ``interrupt`` event's attributes: id, node, payload digest, deadline if given."""
    from locus.core.journal import fingerprint

    attrs: dict[str, Any] = {
        "locus.interrupt.id": pending.id,
        "locus.node": pending.node,
        "locus.interrupt.payload_digest": fingerprint(pending.payload),
    }
    payload = pending.payload
    declared = None if pending.ask is None else pending.ask.get("deadline")
    if isinstance(declared, int | float):  # interrupt(deadline=...), seconds since the epoch
        at = dt.datetime.fromtimestamp(declared, dt.UTC)
        attrs["locus.interrupt.deadline"] = at.isoformat()
    if isinstance(payload, dict):
        deadline = payload.get("deadline")
        if deadline is not None and "locus.interrupt.deadline" not in attrs:
            attrs["locus.interrupt.deadline"] = str(deadline)
        kind = payload.get("type")
        if isinstance(kind, str):
            attrs["locus.interrupt.type"] = kind
    return attrs
