"""Script calls from concurrent callers sent to Redis together, in one pipeline.

Every operation of ``RedisCheckpointer`` and of the Redis work queue is one Lua script,
atomic on its own. Under load a worker has many runs calling scripts at once; sent apart,
each costs a round trip and the client's own work per request. Sent as one pipeline (not a
``MULTI`` transaction: each script stays its own atomic unit, and one's error does not touch
the others) they share them. As with ``postgres_batch``, a batch holds what was queued by
the time the event loop got round to it, so a lone call goes out at once, unbatched.

A call whose reply in the batch is an error, or whose batch was lost with its connection,
is run again alone by its caller, which reports the error or retries the connection as it
would have without batching.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

__all__ = ["ALONE", "ScriptBatcher"]

#: what a caller gets when its call must run alone: nothing else was queued with it, or
#: its reply in the batch was an error, or the batch failed as a whole
ALONE: Any = object()

_Waiting = tuple[str, list[str], list[Any], "asyncio.Future[Any]"]


class ScriptBatcher:
    """Queues script calls (by SHA-1) and sends each batch as one pipeline.

    Args:
        client: gives the Redis client (``None`` once closed: calls then run alone).
        max_size: the most calls in one pipeline.
        max_in_flight: the most pipelines sent at once.
    """

    def __init__(
        self,
        client: Callable[[], Redis | None],
        *,
        max_size: int = 64,
        max_in_flight: int = 2,
    ) -> None:
        self._client = client
        self._max_size = max_size
        self._max_in_flight = max_in_flight
        self._queue: list[_Waiting] = []
        self._in_flight = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        #: batches sent, and the calls they carried (lone calls are not counted)
        self.batches = 0
        self.batched = 0

    async def call(self, sha: str, keys: list[str], args: list[Any]) -> Any:
        """The script's reply, from a pipeline shared with other queued calls; ``ALONE``
        when the caller must run it itself."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((sha, keys, args, future))
        if not self._scheduled and self._in_flight < self._max_in_flight:
            self._scheduled = True
            loop.call_soon(self._start)
        return await future

    async def drain(self) -> None:
        """Wait for the pipelines in flight."""
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
            client = self._client()
            if client is None:
                replies: list[Any] = [ALONE] * len(batch)
            else:
                async with client.pipeline(transaction=False) as pipe:
                    for sha, keys, args, _ in batch:
                        pipe.evalsha(sha, len(keys), *keys, *args)
                    replies = list(await pipe.execute(raise_on_error=False))
        except BaseException as exc:
            for *_, future in batch:
                _settle(future, ALONE)
            if not isinstance(exc, Exception):
                raise
        else:
            for (*_, future), reply in zip(batch, replies, strict=True):
                _settle(future, ALONE if isinstance(reply, Exception) else reply)
        finally:
            self._in_flight -= 1
            if self._queue and not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._start)


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)
