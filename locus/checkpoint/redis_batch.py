"""Redis script calls of concurrent callers sent in one pipeline.

See ``batching`` for when calls are gathered. Every operation of ``RedisCheckpointer`` and
of the Redis work queue is one Lua script, atomic on its own; a batch is one pipeline of
them, not a ``MULTI`` transaction, so one call's error touches no other. A call whose
reply is an error (a script the server has not loaded, say) is run again alone by its
caller, which loads the script or reports the error; so is every call of a pipeline lost
with its connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from locus.checkpoint.batching import ALONE, Batcher

__all__ = ["ScriptBatcher"]


class ScriptBatcher(Batcher[tuple[str, list[str], list[Any]]]):
    """Sends ``(sha, keys, args)`` script calls, each answering the script's reply.

    Args:
        client: gives the Redis client (``None`` once closed: calls then run alone).
        max_size, max_in_flight: see ``Batcher``.
    """

    def __init__(
        self, client: Callable[[], Redis | None], *, max_size: int = 64, max_in_flight: int = 2
    ) -> None:
        super().__init__(max_size=max_size, max_in_flight=max_in_flight)
        self._client = client

    async def _deliver(self, calls: list[tuple[str, list[str], list[Any]]]) -> list[Any]:
        client = self._client()
        if client is None:
            return [ALONE] * len(calls)
        async with client.pipeline(transaction=False) as pipe:
            for sha, keys, args in calls:
                pipe.evalsha(sha, len(keys), *keys, *args)
            replies = await pipe.execute(raise_on_error=False)
        return [ALONE if isinstance(reply, Exception) else reply for reply in replies]
