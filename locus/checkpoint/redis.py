"""``RedisCheckpointer``: threads in Redis, every operation one atomic Lua script.

Needs the ``redis`` extra (redis-py with ``redis.asyncio``). Lease times come from the
server's clock (``TIME``). A finished thread's keys get a native expiry of
``ttl_seconds``, so Redis deletes them by itself and ``purge_expired`` has nothing to do.
A put carries a write id, so a put retried after a lost reply is not applied twice.

A server that goes away (a restart, a failover, a network blip) is waited for: a call that
meets a broken connection reconnects and runs again, with growing pauses, for up to
``reconnect_seconds``, and only then raises ``StoreUnavailableError``. Every script is safe
to run twice (a lease call by its holder, a put by its write id, reads).

Redis must keep its data for this to be durable: run it with AOF (``appendonly yes``,
``appendfsync everysec`` or ``always``) and a ``noeviction`` memory policy. The scripts
touch one thread's keys and the shared inbox keys together, so Redis Cluster is not
supported.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis.asyncio as aredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from locus.checkpoint import redis_scripts
from locus.checkpoint.base import Checkpointer, lease_conflict
from locus.checkpoint.records import EncodedPut, RawCheckpoint, RawPending
from locus.errors import CheckpointError, CheckpointUsageError, StoreUnavailableError

__all__ = ["RedisCheckpointer"]

T = TypeVar("T")


class RedisCheckpointer(Checkpointer):
    """Stores threads in Redis under keys beginning with ``prefix``.

    Args:
        url: a ``redis://`` URL (database number included).
        prefix: prepended to every key, so several checkpointers can share a database.
        ttl_seconds: see ``Checkpointer``; enforced with native key expiry.
        reconnect_seconds: how long a call keeps reconnecting to a server that went away
            before it gives up.
        types: see ``Checkpointer``.

    Raises:
        CheckpointUsageError: ``reconnect_seconds`` is negative.
        StoreUnavailableError: (from any method) the server stayed unreachable for
            ``reconnect_seconds``.
        CheckpointError: (from any method) the server fails a call.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "locus:",
        ttl_seconds: float | None = None,
        reconnect_seconds: float = 10.0,
        types: Iterable[type] = (),
    ) -> None:
        super().__init__(ttl_seconds=ttl_seconds, types=types)
        if isinstance(reconnect_seconds, bool) or not reconnect_seconds >= 0:
            raise CheckpointUsageError(
                f"reconnect_seconds must be 0 or more, got {reconnect_seconds!r}"
            )
        self.url = url
        self.prefix = prefix
        self.reconnect_seconds = float(reconnect_seconds)
        self._client: aredis.Redis | None = None
        self._scripts: dict[str, Any] = {}

    def _keys(self, thread_id: str) -> list[str]:
        p = self.prefix
        return [f"{p}t:{thread_id}", f"{p}c:{thread_id}", f"{p}b:{thread_id}"]

    def _inbox(self) -> list[str]:
        return [f"{self.prefix}pi", f"{self.prefix}pr", f"{self.prefix}pos"]

    async def _setup(self) -> None:
        # No retries inside redis-py: ``_call`` retries, within one budget.
        client = aredis.Redis.from_url(
            self.url, decode_responses=False, retry=Retry(NoBackoff(), 0)
        )
        try:
            await client.ping()
        except RedisError as exc:
            await client.aclose()
            raise CheckpointError(f"Redis is not reachable at {self.url}: {exc}") from exc
        self._client = client
        self._scripts = {
            name: client.register_script(getattr(redis_scripts, name))
            for name in redis_scripts.__all__
        }

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _script(self, what: str, name: str, keys: list[str], args: list[Any]) -> Any:
        script = self._scripts[name]
        return await self._call(what, lambda client: script(keys=keys, args=args))

    async def _call(self, what: str, fn: Callable[[aredis.Redis], Awaitable[T]]) -> T:
        """Run ``fn``; again on a fresh connection while the server is unreachable."""
        assert self._client is not None, "setup() runs before any operation"
        deadline: float | None = None
        pause = 0.05
        while True:
            try:
                return await fn(self._client)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                # the pool drops the broken connection; the next attempt opens a new one
                if deadline is None:
                    deadline = time.monotonic() + self.reconnect_seconds
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StoreUnavailableError(
                        f"Redis at {_where(self.url)} could not {what}: unreachable for "
                        f"{self.reconnect_seconds:g} s ({exc}); check the server, or raise "
                        "reconnect_seconds to wait longer"
                    ) from exc
                await asyncio.sleep(min(pause, left))
                pause = min(pause * 2, 1.0)
            except RedisError as exc:
                raise CheckpointError(f"Redis failed to {what}: {exc}") from exc

    # --- leases ------------------------------------------------------------------------

    async def _acquire(
        self, thread_id: str, owner: str, lease_seconds: float, now: float
    ) -> RawCheckpoint | None:
        args = [owner, _ms(lease_seconds)]
        ok, found = await self._script("acquire a lease", "ACQUIRE", self._keys(thread_id), args)
        if not ok:
            raise lease_conflict(thread_id, owner, found.decode())
        return _raw(found) if found else None

    async def _renew(self, thread_id: str, owner: str, lease_seconds: float) -> bool:
        keys = self._keys(thread_id)[:1]
        args = [owner, _ms(lease_seconds)]
        return bool(await self._script("renew a lease", "RENEW", keys, args))

    async def _release(self, thread_id: str, owner: str) -> bool:
        keys = self._keys(thread_id)[:1]
        return bool(await self._script("release a lease", "RELEASE", keys, [owner]))

    # --- writing -----------------------------------------------------------------------

    async def _put(self, thread_id: str, owner: str, put: EncodedPut) -> int | None:
        ttl = "" if put.expires_at is None else _ms(put.expires_at - put.created_at)
        header = json.dumps([put.created_at, put.status, put.graph])
        args: list[Any] = [owner, put.write_id, header, put.record, put.status]
        args += [repr(put.created_at), ttl, "1" if put.release else "0", len(put.blobs)]
        for key, data in put.blobs.items():
            args += [key, data]
        args.append(len(put.pending))
        for item in reversed(put.pending):  # positions grow; the first interrupt lists first
            row = [thread_id, put.graph, item.node, item.interrupt_id, put.created_at]
            args += [json.dumps(row)[:-1] + ",", item.payload]
        keys = self._keys(thread_id) + self._inbox()
        seq = await self._script("write a checkpoint", "PUT", keys, args)
        return None if seq is None else int(seq)

    # --- reading -----------------------------------------------------------------------

    async def _get(self, thread_id: str, seq: int | None, now: float) -> RawCheckpoint | None:
        args = ["" if seq is None else seq]
        found = await self._script("read a checkpoint", "GET", self._keys(thread_id), args)
        return _raw(found) if found else None

    async def _history(self, thread_id: str, limit: int | None, now: float) -> list[RawCheckpoint]:
        args = [limit or 0]
        found = await self._script("read a history", "HISTORY", self._keys(thread_id), args)
        return [_raw(item) for item in found]

    async def _list_pending(self, limit: int, before: int | None) -> list[RawPending]:
        top = "+inf" if before is None else f"({before}"
        keys = self._inbox()[:2]
        positions, rows = await self._script("list pending", "LIST_PENDING", keys, [top, limit])
        out = []
        for position, row in zip(positions, rows, strict=True):
            if row is None:
                continue
            head, _, payload = row.partition(b"\n")
            thread_id, graph, node, interrupt_id, created_at, seq = json.loads(head)
            out.append(
                RawPending(
                    int(position), thread_id, graph, node, interrupt_id, payload, created_at, seq
                )
            )
        return out

    # --- retention ---------------------------------------------------------------------

    async def _delete_thread(self, thread_id: str) -> bool:
        keys = self._keys(thread_id) + self._inbox()[:2]
        return bool(await self._script("delete a thread", "DELETE", keys, []))

    async def _prune(self, thread_id: str, keep_last: int) -> int:
        keys = self._keys(thread_id)
        return int(await self._script("prune a thread", "PRUNE", keys, [keep_last]))

    async def _purge_expired(self, now: float) -> int:
        return 0  # finished threads carry a native expiry; Redis removes them itself

    async def stored_bytes(self, thread_id: str) -> int:
        """Bytes Redis reports (``MEMORY USAGE``) for the thread's keys; for benchmarks."""

        async def usage(client: aredis.Redis) -> int:
            sizes = [await client.memory_usage(key, samples=0) for key in self._keys(thread_id)]
            return sum(size or 0 for size in sizes)

        return await self._call("measure memory", usage)


def _where(url: str) -> str:
    """``url`` without its credentials, to name the server in errors."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}{parts.path}" if parts.hostname else "?"


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _raw(found: list[Any]) -> RawCheckpoint:
    seq, header, record, keys, datas = found
    created_at, status, graph = json.loads(header)
    blobs = {key.decode(): data for key, data in zip(keys, datas, strict=True)}
    return RawCheckpoint(int(seq), created_at, status, graph, record, blobs)
