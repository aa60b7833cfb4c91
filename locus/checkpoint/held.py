"""What a lease holder knows of its thread's audit trail, so it need not read it again.

While an owner holds a thread's unexpired lease it is the only writer of the thread's
audit trail: the inbox's answers and timeouts are refused under a live lease. So the
trail a backend read along with the lease, plus the entries the owner wrote since, is the
trail. A backend that talks to a server notes both here and saves a round trip per audited
write (its head) and per resume (the stored answers).

A note is a hint, never the authority: every audited write still checks the trail's head
in its own transaction, and a write refused with a noted head is retried with the head
read afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

from locus.checkpoint.audit import AuditRow

__all__ = ["HeldTrails"]

#: threads noted at once; past it the oldest notes go (each is only a saved round trip)
MAX_NOTES = 4096


@dataclass(slots=True)
class _Note:
    owner: str
    head: tuple[int, str]
    trail: list[AuditRow] | None


class HeldTrails:
    """Per thread: the lease owner that noted it, its trail's head and, when the backend
    read it with the lease, the whole trail."""

    __slots__ = ("_notes",)

    def __init__(self) -> None:
        self._notes: dict[str, _Note] = {}

    def took(
        self,
        thread_id: str,
        owner: str,
        head: tuple[int, str],
        trail: list[AuditRow] | None = None,
    ) -> None:
        """``owner`` took the lease; the trail's head was ``head`` (and its rows ``trail``)."""
        notes = self._notes
        notes.pop(thread_id, None)
        if len(notes) >= MAX_NOTES:
            for stale in list(notes)[: MAX_NOTES // 4]:
                del notes[stale]
        notes[thread_id] = _Note(owner, head, trail)

    def head(self, thread_id: str, owner: str) -> tuple[int, str] | None:
        """The head ``owner`` may chain after, or ``None`` to read it from the store."""
        note = self._notes.get(thread_id)
        return note.head if note is not None and note.owner == owner else None

    def trail(self, thread_id: str, owner: str) -> list[AuditRow] | None:
        """The whole trail as ``owner`` holds it, if it was read with the lease."""
        note = self._notes.get(thread_id)
        if note is None or note.owner != owner or note.trail is None:
            return None
        return list(note.trail)

    def wrote(
        self, thread_id: str, owner: str, head: tuple[int, str] | None, *, released: bool
    ) -> None:
        """``owner`` wrote a checkpoint whose audit entries end at ``head`` (``None``: it
        appended none), handing the lease back with it when ``released``.

        The trail read with the lease is forgotten: it served the resume that follows the
        lease; the rows written since carry no store-wide position yet."""
        note = self._notes.get(thread_id)
        if note is None or note.owner != owner:
            return
        if released:
            self.drop(thread_id)
            return
        note.trail = None
        if head is not None:
            note.head = head

    def drop(self, thread_id: str) -> None:
        """Forget the thread (its lease was handed back, or a write found the note stale)."""
        self._notes.pop(thread_id, None)
