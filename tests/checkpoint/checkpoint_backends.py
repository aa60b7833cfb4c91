"""The stores the checkpoint tests run against, and raw access to inspect them.

A uniquely named module (not ``conftest``) so test modules can import it unambiguously.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from locus.checkpoint import Checkpointer, MemoryCheckpointer, SQLiteCheckpointer

POSTGRES_DSN = os.environ.get(
    "LOCUS_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LOCUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BACKENDS = ["memory", "sqlite", "postgres", "redis"]


def service_missing(reason: str) -> None:
    """Skip the test, or fail it when CI requires every service."""
    if os.environ.get("LOCUS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


@dataclass
class Backend:
    """One store under test, and the raw access a contract test needs to inspect it.

    ``make`` opens another checkpointer on the same store (another worker, say);
    ``stored_bytes`` sums the stored documents of a thread; ``overwrite_record`` replaces a
    checkpoint's record the way a future release might have written it; ``overwrite_value``
    replaces one stored state value and ``overwrite_pending`` the payload of one inbox row.
    """

    name: str
    make: Callable[..., Checkpointer]
    stored_bytes: Callable[[Checkpointer, str], Awaitable[int]]
    overwrite_record: Callable[[Checkpointer, str, int, bytes], Awaitable[None]]
    overwrite_value: Callable[[Checkpointer, str, str, int, bytes], Awaitable[None]]
    overwrite_pending: Callable[[Checkpointer, str, str, bytes], Awaitable[None]]
    #: replaces the body of one audit entry in place, as someone editing the store would
    edit_audit: Callable[[str, int, str], Awaitable[None]] | None = None


def memory_backend() -> Backend:
    shared = MemoryCheckpointer()

    def make(**kwargs: Any) -> Checkpointer:
        cp = MemoryCheckpointer(**kwargs)
        # Another "worker" on the same in-memory store shares its dicts.
        cp._threads, cp._inbox, cp._positions = shared._threads, shared._inbox, shared._positions
        cp._audit = shared._audit
        return cp

    async def stored(cp: Checkpointer, thread_id: str) -> int:
        assert isinstance(cp, MemoryCheckpointer)
        return cp.stored_bytes(thread_id)

    async def overwrite_record(cp: Checkpointer, thread_id: str, seq: int, data: bytes) -> None:
        shared._threads[thread_id].checkpoints[seq].record = data

    async def overwrite_value(
        cp: Checkpointer, thread_id: str, key: str, version: int, data: bytes
    ) -> None:
        shared._threads[thread_id].blobs[(key, version)] = data

    async def overwrite_pending(
        cp: Checkpointer, thread_id: str, interrupt_id: str, data: bytes
    ) -> None:
        for position, row in shared._inbox.items():
            if row.thread_id == thread_id and row.interrupt_id == interrupt_id:
                shared._inbox[position] = dataclasses.replace(row, payload=data)

    async def edit_audit(thread_id: str, seq: int, body: str) -> None:
        trail = shared._audit.threads[thread_id]
        tid, at_seq, _, prev_hash, digest, position = trail[seq - 1]
        trail[seq - 1] = (tid, at_seq, body, prev_hash, digest, position)

    return Backend(
        "memory", make, stored, overwrite_record, overwrite_value, overwrite_pending, edit_audit
    )


def sqlite_backend(path: Path) -> Backend:
    import sqlite3

    def run(sql: str, params: tuple[Any, ...]) -> Any:
        con = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            return con.execute(sql, params).fetchone()
        finally:
            con.close()

    async def stored(cp: Checkpointer, thread_id: str) -> int:
        blobs = run("SELECT sum(length(data)) FROM locus_blobs WHERE thread_id = ?", (thread_id,))
        records = run(
            "SELECT sum(length(record)) FROM locus_checkpoints WHERE thread_id = ?", (thread_id,)
        )
        return int(blobs[0] or 0) + int(records[0] or 0)

    async def overwrite_record(cp: Checkpointer, thread_id: str, seq: int, data: bytes) -> None:
        run(
            "UPDATE locus_checkpoints SET record = ? WHERE thread_id = ? AND seq = ?",
            (data, thread_id, seq),
        )

    async def overwrite_value(
        cp: Checkpointer, thread_id: str, key: str, version: int, data: bytes
    ) -> None:
        run(
            "UPDATE locus_blobs SET data = ? WHERE thread_id = ? AND key = ? AND version = ?",
            (data, thread_id, key, version),
        )

    async def overwrite_pending(
        cp: Checkpointer, thread_id: str, interrupt_id: str, data: bytes
    ) -> None:
        run(
            "UPDATE locus_pending SET payload = ? WHERE thread_id = ? AND interrupt_id = ?",
            (data, thread_id, interrupt_id),
        )

    def make(**kwargs: Any) -> Checkpointer:
        return SQLiteCheckpointer(path, **kwargs)

    async def edit_audit(thread_id: str, seq: int, body: str) -> None:
        run(
            "UPDATE locus_audit SET body = ? WHERE thread_id = ? AND seq = ?",
            (body, thread_id, seq),
        )

    return Backend(
        "sqlite", make, stored, overwrite_record, overwrite_value, overwrite_pending, edit_audit
    )


def postgres_backend(schema: str) -> Backend:
    import psycopg

    async def run(sql: str, params: tuple[Any, ...]) -> Any:
        async with await psycopg.AsyncConnection.connect(POSTGRES_DSN, autocommit=True) as conn:
            cur = await conn.execute(sql.replace("S.", f'"{schema}".'), params)
            return await cur.fetchone() if cur.description else None

    async def stored(cp: Checkpointer, thread_id: str) -> int:
        row = await run(
            "SELECT (SELECT coalesce(sum(octet_length(data)), 0) FROM S.locus_blobs "
            "WHERE thread_id = %s) + (SELECT coalesce(sum(octet_length(record)), 0) "
            "FROM S.locus_checkpoints WHERE thread_id = %s)",
            (thread_id, thread_id),
        )
        return int(row[0])

    async def overwrite_record(cp: Checkpointer, thread_id: str, seq: int, data: bytes) -> None:
        await run(
            "UPDATE S.locus_checkpoints SET record = %s WHERE thread_id = %s AND seq = %s",
            (data, thread_id, seq),
        )

    async def overwrite_value(
        cp: Checkpointer, thread_id: str, key: str, version: int, data: bytes
    ) -> None:
        await run(
            "UPDATE S.locus_blobs SET data = %s WHERE thread_id = %s AND key = %s AND version = %s",
            (data, thread_id, key, version),
        )

    async def overwrite_pending(
        cp: Checkpointer, thread_id: str, interrupt_id: str, data: bytes
    ) -> None:
        await run(
            "UPDATE S.locus_pending SET payload = %s WHERE thread_id = %s AND interrupt_id = %s",
            (data, thread_id, interrupt_id),
        )

    def make(**kwargs: Any) -> Checkpointer:
        from locus.checkpoint import PostgresCheckpointer

        return PostgresCheckpointer(POSTGRES_DSN, schema=schema, max_size=4, **kwargs)

    async def edit_audit(thread_id: str, seq: int, body: str) -> None:
        await run(
            "UPDATE S.locus_audit SET body = %s WHERE thread_id = %s AND seq = %s",
            (body, thread_id, seq),
        )

    return Backend(
        "postgres", make, stored, overwrite_record, overwrite_value, overwrite_pending, edit_audit
    )


def redis_backend(prefix: str) -> Backend:
    import redis.asyncio as aredis

    async def with_client(fn: Callable[[Any], Awaitable[Any]]) -> Any:
        client = aredis.Redis.from_url(REDIS_URL)
        try:
            return await fn(client)
        finally:
            await client.aclose()

    async def stored(cp: Checkpointer, thread_id: str) -> int:
        async def lengths(client: Any) -> int:
            total = 0
            for kind in ("c", "b"):
                values = await client.hvals(f"{prefix}{kind}:{thread_id}")
                total += sum(len(v) for v in values)
            return total

        return int(await with_client(lengths))

    async def overwrite_record(cp: Checkpointer, thread_id: str, seq: int, data: bytes) -> None:
        await with_client(lambda c: c.hset(f"{prefix}c:{thread_id}", f"r:{seq}", data))

    async def overwrite_value(
        cp: Checkpointer, thread_id: str, key: str, version: int, data: bytes
    ) -> None:
        await with_client(lambda c: c.hset(f"{prefix}b:{thread_id}", f"{version}:{key}", data))

    async def overwrite_pending(
        cp: Checkpointer, thread_id: str, interrupt_id: str, data: bytes
    ) -> None:
        async def replace(client: Any) -> None:
            # an inbox row is "<json head>\n<payload>"; the head names thread and interrupt
            for position, row in (await client.hgetall(f"{prefix}pr")).items():
                head, _, _ = row.partition(b"\n")
                if json.loads(head)[0] == thread_id and json.loads(head)[3] == interrupt_id:
                    await client.hset(f"{prefix}pr", position, head + b"\n" + data)

        await with_client(replace)

    def make(**kwargs: Any) -> Checkpointer:
        from locus.checkpoint import RedisCheckpointer

        return RedisCheckpointer(REDIS_URL, prefix=prefix, **kwargs)

    async def edit_audit(thread_id: str, seq: int, body: str) -> None:
        async def edit(client: Any) -> None:
            key = f"{prefix}a:{thread_id}"
            position, _, text = (await client.lindex(key, seq - 1)).partition(b"\n")
            row = json.loads(text)
            row[2] = body
            await client.lset(key, seq - 1, position + b"\n" + json.dumps(row).encode())

        await with_client(edit)

    return Backend(
        "redis", make, stored, overwrite_record, overwrite_value, overwrite_pending, edit_audit
    )
