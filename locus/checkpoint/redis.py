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
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from locus.checkpoint import redis_scripts
from locus.checkpoint.audit import AuditRow, chain_fields
from locus.checkpoint.base import Checkpointer, check_batch_size, lease_conflict
from locus.checkpoint.batching import ALONE
from locus.checkpoint.records import EncodedPut, RawCheckpoint, RawPending
from locus.checkpoint.redis_batch import ScriptBatcher
from locus.errors import (
    CheckpointError,
    CheckpointUsageError,
    SchemaVersionError,
    StoreUnavailableError,
)

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
        batch_size: the most script calls of concurrent callers sent in one pipeline
            (``redis_batch``); 1 sends each on its own.
        types: see ``Checkpointer``.

    Raises:
        CheckpointUsageError: ``reconnect_seconds`` is negative, or ``batch_size`` is not
            a whole number of at least 1.
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
        batch_size: int = 64,
        types: Iterable[type] = (),
    ) -> None:
        super().__init__(ttl_seconds=ttl_seconds, types=types)
        check_batch_size(batch_size)
        if isinstance(reconnect_seconds, bool) or not reconnect_seconds >= 0:
            raise CheckpointUsageError(
                f"reconnect_seconds must be 0 or more, got {reconnect_seconds!r}"
            )
        self.url = url
        self.prefix = prefix
        self.reconnect_seconds = float(reconnect_seconds)
        self._client: aredis.Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}
        self._batcher = (
            ScriptBatcher(lambda: self._client, max_size=batch_size) if batch_size > 1 else None
        )

    def _keys(self, thread_id: str) -> list[str]:
        p = self.prefix
        return [f"{p}t:{thread_id}", f"{p}c:{thread_id}", f"{p}b:{thread_id}"]

    def _inbox(self) -> list[str]:
        return [f"{self.prefix}pi", f"{self.prefix}pr", f"{self.prefix}pos"]

    def _audit_keys(self, thread_id: str, graph: str) -> list[str]:
        """The thread's trail, the feed, its counter, and the ready sets (all, the graph's)."""
        p = self.prefix
        return [f"{p}a:{thread_id}", f"{p}ar", f"{p}apos", f"{p}rd", f"{p}rd:{graph}"]

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
        await self._migrate()

    async def _migrate(self) -> None:
        """Bring the key layout to ``KEY_VERSION``; keys written before versions were
        recorded (the first release) count as version 1.

        Raises:
            SchemaVersionError: a newer release wrote these keys.
        """
        key = f"{self.prefix}schema"
        found = await self._call("read the key layout version", lambda c: c.get(key))
        version = int(found) if found else 1
        if version > KEY_VERSION:
            raise SchemaVersionError(
                f"the Redis keys under {self.prefix!r} have layout version {version}; this "
                f"release of locus reads up to version {KEY_VERSION}. Upgrade locus"
            )
        if version < 2:
            keys = [f"{self.prefix}pr", f"{self.prefix}px"]
            await self._script("migrate the key layout", "MIGRATE_V2", keys, [])
            await self._call("record the key layout version", lambda c: c.set(key, KEY_VERSION))

    async def _close(self) -> None:
        if self._batcher is not None:
            await self._batcher.drain()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _script(self, what: str, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self._scripted(what, self._scripts[name], keys, args)

    async def _scripted(
        self, what: str, script: AsyncScript, keys: list[str], args: list[Any]
    ) -> Any:
        """``script``'s reply: in a pipeline with other callers' scripts when any are
        queued (see ``redis_batch``), else alone (loading the script if the server lacks it)."""
        if self._batcher is not None:
            reply = await self._batcher.send("", (script.sha, keys, args))
            if reply is not ALONE:
                return reply
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
        keys = [*self._keys(thread_id), f"{self.prefix}a:{thread_id}"]
        reply = await self._script("acquire a lease", "ACQUIRE", keys, args)
        if not reply[0]:
            raise lease_conflict(thread_id, owner, reply[1].decode())
        _, found, whole, entries = reply
        trail = [_audit_row(entry) for entry in entries]
        head = (trail[-1].seq, trail[-1].hash) if trail else (0, "")
        self._held.took(thread_id, owner, head, trail if whole else None)
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
        fixed: list[Any] = [owner, put.write_id, header, put.record, put.status]
        fixed += [repr(put.created_at), ttl, "1" if put.release else "0"]
        fixed.append("1" if put.clear_ready else "0")
        rest: list[Any] = [len(put.blobs)]
        for key, data in put.blobs.items():
            rest += [key, data]
        rest.append(len(put.pending))
        for item in reversed(put.pending):  # positions grow; the first interrupt lists first
            row = [thread_id, put.graph, item.node, item.interrupt_id, put.created_at]
            rest += [json.dumps(row)[:-1] + ",", item.payload, item.interrupt_id]
        audit = self._audit_keys(thread_id, put.graph)
        keys = self._keys(thread_id) + self._inbox()
        keys += [audit[0], audit[1], audit[2], f"{self.prefix}px", audit[3], audit[4]]
        if put.audit:
            # maybe two round trips (the trail's head, then the script): once begun, finish
            # them even if the caller is cancelled, as a single script already sent would be
            return await asyncio.shield(self._put_chained(thread_id, owner, put, keys, fixed, rest))
        args = [*fixed, 0, 0, *rest]
        seq = await self._script("write a checkpoint", "PUT", keys, args)
        if seq is not None:
            self._held.wrote(thread_id, owner, None, released=put.release)
        return None if seq is None else int(seq)

    async def _put_chained(
        self,
        thread_id: str,
        owner: str,
        put: EncodedPut,
        keys: list[str],
        fixed: list[Any],
        rest: list[Any],
    ) -> int | None:
        # chained after the head noted with the lease, else read first; the script checks
        # it, and another writer appending in between (an answer being refused) makes it
        # chain again after the head read afresh
        noted = self._held.head(thread_id, owner)
        key = f"{self.prefix}a:{thread_id}"
        while True:
            if noted is None:
                last = await self._call("read the audit trail", lambda c: c.lindex(key, -1))
                noted = (0, "") if last is None else _head(last)
            rows = chain_fields(thread_id, *noted, put.audit)
            chained = [_encode_row(fields) for fields in rows]  # as _row_json writes them
            args = [*fixed, noted[0], len(chained), *chained, *rest]
            seq = await self._script("write a checkpoint", "PUT", keys, args)
            if seq is None:
                return None
            if int(seq) != -1:
                head = (rows[-1][1], rows[-1][4])
                self._held.wrote(thread_id, owner, head, released=put.release)
                return int(seq)
            self._held.drop(thread_id)
            noted = None

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
        return [
            _pending(int(position), row)
            for position, row in zip(positions, rows, strict=True)
            if row is not None
        ]

    async def _find_pending(self, interrupt_id: str) -> RawPending | None:
        keys = [f"{self.prefix}px", f"{self.prefix}pr"]
        found = await self._script("find a pending interrupt", "FIND_PENDING", keys, [interrupt_id])
        return None if not found else _pending(int(found[0]), found[1])

    # --- the audit trail -----------------------------------------------------------------

    async def _append_audit(
        self,
        thread_id: str,
        rows: list[AuditRow],
        checkpoint: int,
        ready_graph: str | None,
        now: float,
    ) -> bool:
        keys = self._keys(thread_id)[:1] + self._audit_keys(thread_id, ready_graph or "")
        keys.append(f"{self.prefix}work:a:{ready_graph or ''}")  # see locus.workers.queue_redis
        args: list[Any] = [checkpoint, rows[0].seq - 1, "1" if ready_graph else "0", repr(now)]
        args += [len(rows), *(_row_json(r) for r in rows)]
        return bool(await self._script("append to the audit trail", "APPEND_AUDIT", keys, args))

    async def _read_audit(self, thread_id: str) -> list[AuditRow]:
        key = f"{self.prefix}a:{thread_id}"
        found = await self._call("read the audit trail", lambda c: c.lrange(key, 0, -1))
        return [_audit_row(entry) for entry in found]

    async def _audit_feed(self, after: int, limit: int) -> list[AuditRow]:
        # positions are dense (one counter, incremented inside the scripts that write)
        key, fields = f"{self.prefix}ar", [str(p) for p in range(after + 1, after + limit + 1)]
        found = await self._call("read the audit feed", lambda c: c.hmget(key, fields))
        out: list[AuditRow] = []
        for entry in found:
            if entry is None:
                break
            out.append(_audit_row(entry))
        return out

    async def _list_ready(self, graph: str | None, limit: int) -> list[str]:
        key = f"{self.prefix}rd" if graph is None else f"{self.prefix}rd:{graph}"
        found = await self._call("list ready threads", lambda c: c.zrange(key, 0, limit - 1))
        strip = len(f"{self.prefix}t:")
        return [_bytes(member).decode()[strip:] for member in found]

    async def _ready_among(self, thread_ids: list[str]) -> set[str]:
        key = f"{self.prefix}rd"
        members = [f"{self.prefix}t:{tid}" for tid in thread_ids]
        scores = await self._call("read ready marks", lambda c: c.zmscore(key, members))
        return {tid for tid, score in zip(thread_ids, scores, strict=True) if score is not None}

    # --- retention ---------------------------------------------------------------------

    async def _delete_thread(self, thread_id: str) -> bool:
        t, c = self._keys(thread_id)[:2]
        seq = await self._call("delete a thread", lambda client: client.hget(t, "seq"))
        header = None
        if seq is not None:
            field = b"h:" + _bytes(seq)
            header = await self._call("delete a thread", lambda client: client.hget(c, field))
        graph = json.loads(header)[2] if header else ""
        audit = self._audit_keys(thread_id, graph)
        keys = self._keys(thread_id) + self._inbox()[:2]
        keys += [f"{self.prefix}px", audit[3], audit[4]]
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


#: the version of the key layout this release writes (``P schema``)
KEY_VERSION = 2


def _bytes(value: Any) -> bytes:
    """A reply as bytes (the client never decodes replies, but its types allow str)."""
    return value if isinstance(value, bytes) else str(value).encode()


def _pending(position: int, row: Any) -> RawPending:
    head, _, payload = _bytes(row).partition(b"\n")
    thread_id, graph, node, interrupt_id, created_at, seq = json.loads(head)
    return RawPending(position, thread_id, graph, node, interrupt_id, payload, created_at, seq)


def _row_json(row: AuditRow) -> str:
    return _encode_row((row.thread_id, row.seq, row.body, row.prev_hash, row.hash))


_encode_row = json.JSONEncoder().encode


def _audit_row(entry: Any) -> AuditRow:
    position, _, text = _bytes(entry).partition(b"\n")
    thread_id, seq, body, prev_hash, digest = json.loads(text)
    return AuditRow(thread_id, int(seq), body, prev_hash, digest, int(position))


def _head(entry: Any) -> tuple[int, str]:
    row = _audit_row(entry)
    return row.seq, row.hash


def _raw(found: list[Any]) -> RawCheckpoint:
    seq, header, record, keys, datas = found
    created_at, status, graph = json.loads(header)
    blobs = {key.decode(): data for key, data in zip(keys, datas, strict=True)}
    return RawCheckpoint(int(seq), created_at, status, graph, record, blobs)
