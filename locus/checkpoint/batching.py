"""Calls from concurrent callers gathered and sent to a server store together.

Under load a worker has many runs talking to the store at once, one call at a time each.
Sent apart, every call costs a round trip and a wake-up on each side (on PostgreSQL also a
commit); sent together they share them. A batch waits for nothing: it holds what was
queued by the time the event loop got round to it (and, while the batches already in flight
fill what is allowed, whatever queued meanwhile), so a lone call goes out at once, just as
it would have without batching: its caller is told to run it ``ALONE``.

Each store says how a batch is sent (``postgres_batch``, ``redis_batch``), and which
calls must be run again alone: every call of a batch that failed as a whole, and a call
whose own reply in the batch was an error. The caller then runs it as it would have
without batching, which reports the error or, after a lost connection, checks what the
lost batch wrote.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Any, Final, Generic, TypeVar

__all__ = ["ALONE", "Batcher"]

C = TypeVar("C")


class _Alone:
    def __repr__(self) -> str:
        return "ALONE"


#: a caller's answer when it must run its call itself (see the module docstring)
ALONE: Final[Any] = _Alone()


class Batcher(ABC, Generic[C]):
    """Gathers calls of type ``C`` and sends each batch with ``_deliver``.

    Args:
        max_size: the most calls in one batch.
        max_in_flight: the most batches sent at once.
    """

    def __init__(self, *, max_size: int = 64, max_in_flight: int = 2) -> None:
        self._max_size = max_size
        self._max_in_flight = max_in_flight
        self._queue: list[tuple[str, C, asyncio.Future[Any]]] = []
        self._in_flight = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        #: batches sent, and the calls they carried (lone calls are not counted)
        self.batches = 0
        self.batched = 0

    async def send(self, key: str, call: C) -> Any:
        """``call``'s reply, from a batch with the other calls queued; or ``ALONE``.

        A batch delivers its calls in the order of their ``key`` (a thread id): on a store
        with row locks, batches then take their locks in one order and never deadlock.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((key, call, future))
        if not self._scheduled and self._in_flight < self._max_in_flight:
            self._scheduled = True
            loop.call_soon(self._start)
        return await future

    async def drain(self) -> None:
        """Wait for the batches in flight."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    @abstractmethod
    async def _deliver(self, calls: list[C]) -> list[Any]:
        """Send ``calls`` together; their replies in order (``ALONE`` for one to run alone).

        Raises:
            Anything: the batch failed as a whole; every caller runs its call alone.
        """

    def _start(self) -> None:
        self._scheduled = False
        loop = asyncio.get_running_loop()
        while self._queue and self._in_flight < self._max_in_flight:
            batch = self._queue[: self._max_size]
            del self._queue[: self._max_size]
            if len(batch) == 1:
                _settle(batch[0][2], ALONE)
                continue
            self._in_flight += 1
            self.batches += 1
            self.batched += len(batch)
            task = loop.create_task(self._send(sorted(batch, key=lambda queued: queued[0])))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[tuple[str, C, asyncio.Future[Any]]]) -> None:
        try:
            replies = await self._deliver([call for _, call, _ in batch])
        except BaseException as exc:
            for *_, future in batch:
                _settle(future, ALONE)
            if not isinstance(exc, Exception):
                raise
        else:
            for (*_, future), reply in zip(batch, replies, strict=True):
                _settle(future, reply)
        finally:
            self._in_flight -= 1
            if self._queue and not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._start)


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)
