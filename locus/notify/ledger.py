"""Where notification deliveries are kept: in the same store as the threads, per backend.

Each notifier has a cursor (the last audit-feed position it has scheduled from) and a set
of deliveries keyed by idempotency key, each pending, sent, failed (gave up) or skipped.
Scheduling inserts deliveries and moves the cursor in one atomic write, so a process that
dies between reading the feed and sending loses nothing: the next process finds the
deliveries still pending. Links sent by email are single-use: ``use_once`` records a link
id the first time and refuses it after.

Tables (SQLite, PostgreSQL in the checkpointer's schema): ``locus_notify_cursor``,
``locus_notify_delivery``, ``locus_notify_used``. Redis keys under the checkpointer's
prefix: ``n:cur`` (hash), ``n:d:{notifier}`` (hash of deliveries), ``n:due:{notifier}``
(sorted set of pending keys by due time), ``n:used:{id}``. Bodies are JSON, versioned.
"""

from __future__ import annotations

import json
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from locus.checkpoint import Checkpointer
from locus.errors import CheckpointError

__all__ = ["Delivery", "Ledger", "ledger_for"]

Status = Literal["pending", "sent", "failed", "skipped"]
_VERSION = 1


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to one notifier, delivered at least once.

    Attributes:
        notifier: the notifier's name.
        key: the idempotency key, sent with every attempt.
        due_at: when to (next) try, epoch seconds.
        body: the notice (JSON data).
        attempts: tries so far.
        status: ``pending``, ``sent``, ``failed`` (retries exhausted) or ``skipped``.
        last_error: why the last try failed.
    """

    notifier: str
    key: str
    due_at: float
    body: dict[str, Any]
    attempts: int = 0
    status: Status = "pending"
    last_error: str | None = None

    def to_json(self) -> str:
        """The stored form."""
        return json.dumps({"v": _VERSION, **asdict(self)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Delivery:
        """Read the stored form.

        Raises:
            CheckpointError: an unknown version or a malformed record.
        """
        data = json.loads(text)
        if not isinstance(data, dict) or data.pop("v", None) != _VERSION:
            raise CheckpointError(f"notification delivery record of unknown version: {text!r:.80}")
        return cls(**data)


class Ledger(ABC):
    """Durable notification state of one store."""

    @abstractmethod
    async def cursor(self, notifier: str) -> int:
        """The last feed position ``notifier`` scheduled from (0 at first)."""

    @abstractmethod
    async def schedule(self, notifier: str, position: int, deliveries: Sequence[Delivery]) -> None:
        """Add the deliveries whose keys are new and move the cursor to ``position``, at once."""

    @abstractmethod
    async def due(self, notifier: str, now: float, limit: int = 50) -> list[Delivery]:
        """Pending deliveries due at ``now``, earliest first."""

    @abstractmethod
    async def settle(self, delivery: Delivery) -> None:
        """Store a delivery's new status, attempts, due time and error."""

    @abstractmethod
    async def deliveries(self, notifier: str) -> list[Delivery]:
        """Every delivery of ``notifier``, for inspection."""

    @abstractmethod
    async def use_once(self, link_id: str, expires_at: float) -> bool:
        """Record ``link_id`` as used; False when it was used before."""


_LEDGERS: weakref.WeakKeyDictionary[Checkpointer, Ledger] = weakref.WeakKeyDictionary()


def ledger_for(checkpointer: Checkpointer) -> Ledger:
    """The ledger kept in ``checkpointer``'s store (one per checkpointer object).

    Raises:
        CheckpointError: a checkpointer type this module does not know how to store in.
    """
    found = _LEDGERS.get(checkpointer)
    if found is not None:
        return found
    from locus.checkpoint.kinds import store_kind

    kind = store_kind(checkpointer)
    ledger: Ledger
    if kind == "memory":
        ledger = _MemoryLedger()
    elif kind == "sqlite":
        from locus.notify.ledger_sql import SQLiteLedger

        ledger = SQLiteLedger(checkpointer)  # type: ignore[arg-type]
    elif kind == "postgres":
        from locus.notify.ledger_sql import PostgresLedger

        ledger = PostgresLedger(checkpointer)  # type: ignore[arg-type]
    elif kind == "redis":
        from locus.notify.ledger_redis import RedisLedger

        ledger = RedisLedger(checkpointer)  # type: ignore[arg-type]
    else:
        raise CheckpointError(
            f"notifications cannot keep their state in a {type(checkpointer).__name__}; "
            "use a memory, SQLite, PostgreSQL or Redis checkpointer"
        )
    _LEDGERS[checkpointer] = ledger
    return ledger


class _MemoryLedger(Ledger):
    """For ``MemoryCheckpointer``: as durable as the store itself (this process)."""

    def __init__(self) -> None:
        self._cursors: dict[str, int] = {}
        self._rows: dict[tuple[str, str], Delivery] = {}
        self._used: dict[str, float] = {}

    async def cursor(self, notifier: str) -> int:
        return self._cursors.get(notifier, 0)

    async def schedule(self, notifier: str, position: int, deliveries: Sequence[Delivery]) -> None:
        for d in deliveries:
            self._rows.setdefault((notifier, d.key), d)
        self._cursors[notifier] = max(position, self._cursors.get(notifier, 0))

    async def due(self, notifier: str, now: float, limit: int = 50) -> list[Delivery]:
        rows = [
            d
            for (n, _), d in self._rows.items()
            if n == notifier and d.status == "pending" and d.due_at <= now
        ]
        return sorted(rows, key=lambda d: d.due_at)[:limit]

    async def settle(self, delivery: Delivery) -> None:
        self._rows[(delivery.notifier, delivery.key)] = replace(delivery)

    async def deliveries(self, notifier: str) -> list[Delivery]:
        return [d for (n, _), d in self._rows.items() if n == notifier]

    async def use_once(self, link_id: str, expires_at: float) -> bool:
        now = time.time()
        for key in [k for k, exp in self._used.items() if exp < now]:
            del self._used[key]
        if link_id in self._used:
            return False
        self._used[link_id] = expires_at
        return True
