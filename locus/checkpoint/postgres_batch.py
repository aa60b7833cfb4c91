"""Statements from concurrent callers sent to PostgreSQL together, in one transaction.

Under load a worker has many runs writing at once, each one statement at a time. Sent
apart, every statement costs a round trip, a wake-up on each side and a commit; sent as
one pipelined transaction they share all three. A batch waits for nothing: it holds what
was queued by the time the event loop got round to it (and, while the batches already in
flight fill the connections allowed, whatever queued meanwhile), so a lone statement goes
out at once, just as it would have without batching.

Only statements whose outcome their caller can check afterwards are batched. A batch that
fails as a whole (one statement erred, so nothing of it committed; or its connection was
lost, so its caller cannot know) gives each caller ``BatchFailed``, and the caller runs its
statement alone, checking first whether a lost batch wrote it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import psycopg

__all__ = ["BatchFailed", "StatementBatcher"]

Conn = psycopg.AsyncConnection[Any]


class BatchFailed(Exception):
    """The caller's statement did not run as part of a batch: run it alone."""


#: what a caller gets when its statement was the only one queued: nothing was sent
ALONE: Any = object()

_Waiting = tuple[str, str, Any, "asyncio.Future[Any]"]


class StatementBatcher:
    """Queues single-row statements and sends each batch as one pipelined transaction.

    Args:
        connection: an async context manager factory giving a pooled connection.
        max_size: the most statements in one batch.
        max_in_flight: the most batches sent at once (each holds a connection).
    """

    def __init__(
        self,
        connection: Callable[[], Any],
        *,
        max_size: int = 64,
        max_in_flight: int = 2,
    ) -> None:
        self._connection = connection
        self._max_size = max_size
        self._max_in_flight = max_in_flight
        self._queue: list[_Waiting] = []
        self._in_flight = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        #: batches sent, and the calls they carried (lone calls are not counted)
        self.batches = 0
        self.batched = 0

    async def one(self, key: str, sql: str, params: Any) -> Any:
        """The first row ``sql`` returns (or ``None``), run in a batch with others queued.

        A batch runs its statements in the order of their ``key`` (a thread id): batches
        then take their row locks in one order, so two of them never deadlock.

        Returns:
            The row, or ``ALONE`` when no other statement was queued with it (the caller
            runs it itself: a batch of one saves nothing).

        Raises:
            BatchFailed: the batch did not commit as a whole; run the statement alone.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((key, sql, params, future))
        if not self._scheduled and self._in_flight < self._max_in_flight:
            self._scheduled = True
            loop.call_soon(self._start)
        return await future

    async def drain(self) -> None:
        """Wait for the batches in flight."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start(self) -> None:
        self._scheduled = False
        loop = asyncio.get_running_loop()
        while self._queue and self._in_flight < self._max_in_flight:
            batch = self._queue[: self._max_size]
            del self._queue[: self._max_size]
            if len(batch) == 1:
                _settle(batch[0][3], ALONE)
                continue
            self._in_flight += 1
            self.batches += 1
            self.batched += len(batch)
            task = loop.create_task(self._send(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[_Waiting]) -> None:
        try:
            rows = await self._run(batch)
        except BaseException as exc:
            for *_, future in batch:
                if not future.done():
                    future.set_exception(BatchFailed(str(exc) or type(exc).__name__))
            if not isinstance(exc, Exception):
                raise
        else:
            for (*_, future), row in zip(batch, rows, strict=True):
                _settle(future, row)
        finally:
            self._in_flight -= 1
            if self._queue and not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._start)

    async def _run(self, batch: list[_Waiting]) -> list[Any]:
        batch.sort(key=lambda waiting: waiting[0])
        async with self._connection() as conn:
            cursors = []
            async with conn.pipeline(), conn.transaction():
                for _, sql, params, _ in batch:
                    cursor = conn.cursor(binary=True)
                    await cursor.execute(sql, params)
                    cursors.append(cursor)
            return [await cursor.fetchone() for cursor in cursors]


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)
