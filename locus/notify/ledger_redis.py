"""The notification ledger in Redis, under the checkpointer's key prefix."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from locus.notify.ledger import Delivery, Ledger

if TYPE_CHECKING:
    from locus.checkpoint.redis import RedisCheckpointer

__all__ = ["RedisLedger"]

# KEYS: cursor hash, deliveries hash, due zset. ARGV: notifier, position, then key/due/json
# triples. New keys only, so a re-scheduled delivery never comes back once settled.
_SCHEDULE = """
for i = 3, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 2]) == 1 then
    redis.call('ZADD', KEYS[3], ARGV[i + 1], ARGV[i])
  end
end
local old = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > old then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
"""

# KEYS: deliveries hash, due zset. ARGV: key, json, pending (1/0), due_at.
_SETTLE = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '1' then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
else redis.call('ZREM', KEYS[2], ARGV[1]) end
return 1
"""


class RedisLedger(Ledger):
    """The ledger in a ``RedisCheckpointer``'s database."""

    def __init__(self, checkpointer: RedisCheckpointer) -> None:
        self._cp = checkpointer
        self._p = checkpointer.prefix

    async def _run(self, what: str, fn: Any) -> Any:
        await self._cp.setup()
        return await self._cp._call(what, fn)

    def _keys(self, notifier: str) -> list[str]:
        return [f"{self._p}n:cur", f"{self._p}n:d:{notifier}", f"{self._p}n:due:{notifier}"]

    async def cursor(self, notifier: str) -> int:
        raw = await self._run(
            "read a notification cursor", lambda c: c.hget(f"{self._p}n:cur", notifier)
        )
        return int(raw) if raw else 0

    async def schedule(self, notifier: str, position: int, deliveries: Sequence[Delivery]) -> None:
        args: list[Any] = [notifier, position]
        for d in deliveries:
            args += [d.key, d.due_at, d.to_json()]
        keys = self._keys(notifier)
        await self._run(
            "schedule notifications", lambda c: c.eval(_SCHEDULE, len(keys), *keys, *args)
        )

    async def due(self, notifier: str, now: float, limit: int = 50) -> list[Delivery]:
        _, hash_key, due_key = self._keys(notifier)

        async def read(c: Any) -> list[Any]:
            keys = await c.zrangebyscore(due_key, "-inf", now, start=0, num=limit)
            return list(await c.hmget(hash_key, keys)) if keys else []

        rows = await self._run("read due notifications", read)
        return [Delivery.from_json(r) for r in rows if r is not None]

    async def settle(self, delivery: Delivery) -> None:
        _, hash_key, due_key = self._keys(delivery.notifier)
        pending = "1" if delivery.status == "pending" else "0"
        args = [delivery.key, delivery.to_json(), pending, delivery.due_at]
        await self._run(
            "record a notification attempt", lambda c: c.eval(_SETTLE, 2, hash_key, due_key, *args)
        )

    async def deliveries(self, notifier: str) -> list[Delivery]:
        _, hash_key, _ = self._keys(notifier)
        rows = await self._run("read notifications", lambda c: c.hvals(hash_key))
        return sorted((Delivery.from_json(r) for r in rows), key=lambda d: d.due_at)

    async def use_once(self, link_id: str, expires_at: float) -> bool:
        ttl = max(1, int(expires_at - time.time()) + 1)
        done = await self._run(
            "use a signed link",
            lambda c: c.set(f"{self._p}n:used:{link_id}", b"1", nx=True, ex=ttl),
        )
        return bool(done)
