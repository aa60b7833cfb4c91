"""PostgreSQL statements of concurrent callers sent as one pipelined transaction.

See ``batching`` for when calls are gathered. A batch here is one transaction, sent in
pipeline mode: one round trip, one commit. Only single-statement operations whose outcome
their caller can check afterwards are sent this way. If one statement fails, the whole
transaction is undone and every caller runs its statement alone, as it would have without
batching; if the connection is lost, each caller's own retry checks what was written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from locus.checkpoint.batching import Batcher

__all__ = ["StatementBatcher"]


class StatementBatcher(Batcher[tuple[str, Any]]):
    """Sends ``(sql, params)`` calls, each answering its first row (or ``None``).

    Args:
        connection: gives a pooled autocommit connection (an async context manager).
        max_size, max_in_flight: see ``Batcher``.
    """

    def __init__(
        self, connection: Callable[[], Any], *, max_size: int = 64, max_in_flight: int = 2
    ) -> None:
        super().__init__(max_size=max_size, max_in_flight=max_in_flight)
        self._connection = connection

    async def _deliver(self, calls: list[tuple[str, Any]]) -> list[Any]:
        async with self._connection() as conn:
            cursors = []
            async with conn.pipeline(), conn.transaction():
                for sql, params in calls:
                    cursor = conn.cursor(binary=True)
                    await cursor.execute(sql, params)
                    cursors.append(cursor)
            return [await cursor.fetchone() for cursor in cursors]
