"""``Command``: how a caller resumes a paused graph, and how a node routes the graph."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from locus.inbox.rules import Actor

__all__ = ["NO_ANSWER", "Command"]


class _NoAnswer:
    """The type of ``NO_ANSWER``: 'no resume value given' (``None`` is a valid answer)."""

    _instance: _NoAnswer | None = None

    def __new__(cls) -> _NoAnswer:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_ANSWER"

    def __bool__(self) -> bool:
        return False


NO_ANSWER: Final = _NoAnswer()


@dataclass(frozen=True, slots=True)
class Command:
    """An instruction to the graph runtime.

    Passed to ``graph.execute`` it resumes a pause:

    * ``update``: state to apply first. Without a checkpointer this is the paused
      ``result.final_state`` snapshot (optionally with edits and runtime ``__`` keys).
    * ``resume``: the answer for the single pending interrupt; ``interrupt()`` returns it.
    * ``resume_by_id``: answers keyed by interrupt id, for several pending interrupts. It is
      a field of its own so that a dict answer is never mistaken for an id map.
    * ``goto``: run these nodes (or ``END``) instead of the paused one, e.g. to reject a
      static breakpoint.
    * ``actor``: who answers (``locus.inbox.Actor``); recorded in the thread's audit trail and
      checked against the interrupt's ``answerers``.

    Returned from a node it routes the graph: ``update`` is the node's state update and
    ``goto`` names the next node(s), in addition to the node's outgoing edges.
    """

    update: Mapping[str, Any] | None = None
    resume: Any = NO_ANSWER
    resume_by_id: Mapping[str, Any] | None = None
    goto: str | Sequence[str] | None = None
    actor: Actor | None = None

    @property
    def has_resume(self) -> bool:
        """True when any answer (``resume`` or ``resume_by_id``) was given."""
        return self.resume is not NO_ANSWER or bool(self.resume_by_id)

    def goto_targets(self) -> tuple[str, ...]:
        """``goto`` as a tuple of node names (empty when unset)."""
        if self.goto is None:
            return ()
        if isinstance(self.goto, str):
            return (self.goto,)
        return tuple(self.goto)
