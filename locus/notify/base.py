"""What a notification says (``Notice``) and what every notifier has (``Notifier``)."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from locus.errors import ConfigurationError

__all__ = ["Notice", "NoticeKind", "Notifier"]

NoticeKind = Literal["asked", "reminder", "escalated", "expired", "timed_out"]
ALL_KINDS: frozenset[str] = frozenset({"asked", "reminder", "escalated", "expired", "timed_out"})


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell people about a pending item.

    Attributes:
        kind: ``asked`` (a new item), ``reminder`` (its deadline is near), ``escalated``,
            ``expired`` or ``timed_out`` (its deadline passed).
        key: the idempotency key, the same on every retry of this notice.
        interrupt_id, thread_id, graph, node: the item.
        summary: one line saying what it asks.
        payload: what the node asked with (JSON data).
        deadline: ISO 8601, or None.
        position: the audit-feed position the notice comes from.
    """

    kind: NoticeKind
    key: str
    interrupt_id: str | None
    thread_id: str
    graph: str
    node: str | None
    summary: str
    payload: Any
    deadline: str | None
    position: int

    def to_json(self) -> dict[str, Any]:
        """Plain data (the webhook body, and what the ledger stores)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notice:
        """Read ``to_json`` back."""
        return cls(**data)

    @staticmethod
    def make_key(notifier: str, thread_id: str, seq: int, kind: str) -> str:
        """A stable idempotency key for ``kind`` of audit entry ``seq`` of ``thread_id``."""
        raw = f"{notifier}\x00{thread_id}\x00{seq}\x00{kind}".encode()
        return "lcs_" + hashlib.sha256(raw).hexdigest()[:40]


class Notifier(ABC):
    """A channel that tells people about pending items.

    Args:
        name: unique per store; its delivery cursor and state are kept under it.
        graphs: only notify about these graphs (all when None).
        kinds: which notices to send (all by default).
        remind_before: seconds before a deadline to send a reminder (none when None).

    Raises:
        ConfigurationError: an empty name, an unknown kind or a non-positive reminder.
    """

    def __init__(
        self,
        name: str,
        *,
        graphs: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        remind_before: float | None = None,
    ) -> None:
        if not name:
            raise ConfigurationError("a notifier needs a non-empty name")
        self.name = name
        self.graphs = frozenset(graphs) if graphs is not None else None
        self.kinds = frozenset(kinds) if kinds is not None else ALL_KINDS
        unknown = self.kinds - ALL_KINDS
        if unknown:
            raise ConfigurationError(
                f"notifier {name!r}: unknown kinds {sorted(unknown)}; use {sorted(ALL_KINDS)}"
            )
        if remind_before is not None and not remind_before > 0:
            raise ConfigurationError(f"notifier {name!r}: remind_before must be > 0 seconds")
        self.remind_before = remind_before

    def wants(self, kind: str, graph: str) -> bool:
        """Whether this notifier sends ``kind`` notices about ``graph``."""
        return kind in self.kinds and (self.graphs is None or graph in self.graphs)

    @abstractmethod
    async def send(self, notice: Notice) -> None:
        """Deliver ``notice`` once.

        Raises:
            NotificationError: (or any exception) it was not delivered; it is retried.
        """
