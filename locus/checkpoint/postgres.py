"""``PostgresCheckpointer``: threads in PostgreSQL, for workers on many machines.

Needs the ``postgres`` extra (psycopg 3 and psycopg_pool). Every operation is one SQL
statement (see ``postgres_sql``), the lease check inside the same statement as the write it
guards. Statements are prepared once per connection with generic plans. A statement runs
alone on a pooled autocommit connection, or, when other callers' statements are queued at
the same moment (a worker's many runs), with them in one pipelined transaction (see
``postgres_batch``): one round trip and one commit for all. Lease times come from the server's
clock, so workers with skewed clocks still agree on who holds a thread. Lease-only
statements commit without waiting for the WAL flush (``synchronous_commit`` off for that
transaction): a lease change lost in a server crash can only make a later put fail, since
every put checks the lease in its own durable transaction.

A connection the server closed while idle (restart, ``pg_terminate_backend``, an idle
timeout) fails the call that picks it up; the pool is then checked and the call is retried
once on a fresh connection. A put is retried safely: it carries a write id, and a retry
first asks whether the lost attempt had committed.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from locus.checkpoint import liveness
from locus.checkpoint.audit import AuditRow, chain_fields
from locus.checkpoint.base import Checkpointer, check_batch_size, lease_conflict
from locus.checkpoint.batching import ALONE
from locus.checkpoint.postgres_batch import StatementBatcher
from locus.checkpoint.postgres_sql import MIGRATIONS, SCHEMA_VERSION, statements
from locus.checkpoint.records import EncodedPut, RawCheckpoint, RawPending
from locus.errors import (
    CheckpointError,
    CheckpointUsageError,
    SchemaVersionError,
    StoreUnavailableError,
)

__all__ = ["PostgresCheckpointer"]

T = TypeVar("T")
Conn = psycopg.AsyncConnection[Any]


class PostgresCheckpointer(Checkpointer):
    """Stores threads in PostgreSQL tables ``locus_*`` inside ``schema``.

    Args:
        dsn: a libpq connection string or URL.
        schema: the schema holding the tables (created if missing); a plain identifier.
        ttl_seconds: see ``Checkpointer``.
        min_size: connections the pool keeps open.
        max_size: the most connections the pool opens.
        batch_size: the most statements of concurrent callers sent as one transaction
            (``postgres_batch``); 1 sends each on its own.
        types: see ``Checkpointer``.

    Raises:
        CheckpointUsageError: ``schema`` is not a plain identifier, ``dsn`` is not a
            connection string, or ``batch_size`` is not a whole number of at least 1.
        StoreUnavailableError: (on first use) the server cannot be reached or refuses the
            connection (wrong port, unknown database, bad credentials); the message carries
            the server's own reason. Unless the DSN sets ``connect_timeout``, a connection
            attempt gives up after 5 seconds.
        CheckpointError: (from any method) the server fails, after one retry on a fresh
            connection.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "public",
        ttl_seconds: float | None = None,
        min_size: int = 1,
        max_size: int = 10,
        batch_size: int = 64,
        types: Iterable[type] = (),
    ) -> None:
        super().__init__(ttl_seconds=ttl_seconds, types=types)
        check_batch_size(batch_size)
        self._batch_size = batch_size
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", schema):
            raise CheckpointUsageError(f"schema must be a plain SQL identifier, got {schema!r}")
        self.dsn = dsn
        self.schema = schema
        self._where, self._timeout = _describe(dsn)
        self._min_size, self._max_size = min_size, max_size
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._batcher: StatementBatcher | None = None
        self._sql = statements(schema)

    # --- plumbing ----------------------------------------------------------------------

    async def _setup(self) -> None:
        conn = await self._connect_first()
        try:
            async with conn.transaction():
                # Serializes concurrent first-time setups; CREATE ... IF NOT EXISTS races.
                await conn.execute("SELECT pg_advisory_xact_lock(7170420631)")
                await self._migrate(conn)
        except psycopg.Error as exc:
            raise CheckpointError(f"PostgreSQL setup failed ({self.schema}): {exc}") from exc
        finally:
            await conn.close()
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            self.dsn,
            min_size=self._min_size,
            max_size=self._max_size,
            kwargs={**self._connect_kwargs, "prepare_threshold": 0},
            configure=_configure,
            open=False,
        )
        try:
            await pool.open(wait=True, timeout=30)
        except (psycopg.Error, TimeoutError) as exc:
            await pool.close()
            raise StoreUnavailableError(
                f"PostgreSQL at {self._where}: the connection pool could not open ({exc})"
            ) from exc
        self._pool = pool
        if self._batch_size > 1:
            self._batcher = StatementBatcher(pool.connection, max_size=self._batch_size)

    async def _migrate(self, conn: Conn) -> None:
        """Bring the schema to ``SCHEMA_VERSION`` (under the setup lock).

        A schema written before versions were recorded has the version-1 tables and no
        ``locus_schema`` row: version 0, for which step 1 changes nothing.

        Raises:
            SchemaVersionError: a newer release migrated this schema.
        """
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'.encode())
        await conn.execute(self._sql["version_table"].encode())
        cur = await conn.execute(f'SELECT max(version) FROM "{self.schema}".locus_schema'.encode())
        row = await cur.fetchone()
        current = int(row[0]) if row and row[0] is not None else 0
        if current > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the PostgreSQL schema {self.schema!r} has schema version {current}; this "
                f"release of locus reads up to version {SCHEMA_VERSION}. Upgrade locus"
            )
        if current == SCHEMA_VERSION:
            return
        for version, name in MIGRATIONS:
            if version > current:
                for statement in self._sql[name].split(";"):
                    if statement.strip():
                        await conn.execute(statement.encode(), prepare=False)
        await conn.execute(f'DELETE FROM "{self.schema}".locus_schema'.encode())
        await conn.execute(
            f'INSERT INTO "{self.schema}".locus_schema (version) VALUES (%s)'.encode(),
            (SCHEMA_VERSION,),
        )

    async def _connect_first(self) -> Conn:
        """One connection made directly, so a wrong DSN fails at once with the server's reason.

        A pool retries a failing connection in the background until its timeout and only
        logs why; connecting once first turns that into an immediate, explained error.
        """
        try:
            return await psycopg.AsyncConnection.connect(self.dsn, **self._connect_kwargs)
        except psycopg.Error as exc:
            reason = str(exc).strip().removeprefix("connection failed: ")
            raise StoreUnavailableError(
                f"cannot connect to PostgreSQL at {self._where}: {reason}"
            ) from exc

    @property
    def _connect_kwargs(self) -> dict[str, Any]:
        # libpq waits for the OS's TCP timeout (minutes) unless told; a DSN's own wins
        return {"autocommit": True, **self._timeout}

    async def _close(self) -> None:
        if self._batcher is not None:
            await self._batcher.drain()
        pool, self._pool = self._pool, None
        self._batcher = None
        if pool is not None:
            await pool.close()

    async def _run(
        self,
        what: str,
        fn: Callable[[Conn], Awaitable[T]],
        retry: Callable[[Conn], Awaitable[T]] | None = None,
    ) -> T:
        """Run ``fn`` on a pooled connection; once more (``retry`` if given) if it was dead."""
        assert self._pool is not None, "setup() runs before any operation"
        try:
            async with self._pool.connection() as conn:
                try:
                    return await fn(conn)
                except psycopg.OperationalError:
                    if not conn.broken and not conn.closed:
                        raise
            await self._pool.check()
            async with self._pool.connection() as conn:
                return await (retry or fn)(conn)
        except psycopg.Error as exc:
            raise CheckpointError(f"PostgreSQL failed to {what}: {exc}") from exc

    async def _one(self, conn: Conn, name: str, params: Any) -> Any:
        cur = await conn.execute(self._sql[name], params, binary=True)
        return await cur.fetchone()

    async def _batched(self, key: str, sql: str, params: Any) -> Any:
        """``sql``'s first row, sent in a batch with other callers' statements; ``ALONE``
        when it should run by itself (nothing else was queued, or the batch failed)."""
        if self._batcher is None:
            return ALONE
        return await self._batcher.send(key, (sql, params))

    async def _single(
        self,
        what: str,
        key: str,
        sql: str,
        params: Any,
        *,
        batched: str | None = None,
        alone: Callable[[Conn], Awaitable[Any]] | None = None,
    ) -> Any:
        """The first row of ``sql`` (or ``None``): batched with other callers' statements
        when any are queued (see ``postgres_batch``), as ``batched`` if given; else run
        alone, on a pooled connection, by ``alone`` if given. ``key`` is the thread id."""
        row = await self._batched(key, batched or sql, params)
        if row is not ALONE:
            return row

        async def one(conn: Conn) -> Any:
            return await (await conn.execute(sql, params, binary=True)).fetchone()

        return await self._run(what, alone or one)

    async def _all(self, conn: Conn, name: str, params: Any) -> list[Any]:
        cur = await conn.execute(self._sql[name], params, binary=True)
        return await cur.fetchall()

    # --- leases ------------------------------------------------------------------------

    async def _acquire(
        self, thread_id: str, owner: str, lease_seconds: float, now: float
    ) -> RawCheckpoint | None:
        params = {"tid": thread_id, "owner": owner, "lease": float(lease_seconds)}

        sql, batched = self._sql["acquire"], self._sql["acquire_batched"]
        row = await self._single("acquire a lease", thread_id, sql, params, batched=batched)
        if row is None:
            holder = await self._single(
                "read a lease", thread_id, self._sql["holder"], (thread_id,)
            )
            raise lease_conflict(thread_id, owner, holder[0] if holder else "another owner")
        latest, expires_at, audit_seq = row[:3]
        if expires_at is not None and expires_at <= now:

            async def reset(conn: Conn) -> None:
                await conn.execute(self._sql["reset_expired"], {"tid": thread_id, "now": now})

            await self._run("reset an expired thread", reset)
            return None
        if row[3] is not None or not latest:
            trail = _trail(thread_id, row[10:])
            if (trail[-1].seq if trail else 0) != audit_seq:
                # an audited write committed while this statement waited for the row
                trail = await self._read_audit(thread_id)
            paused = row[3] is not None and row[5] == "paused"
            self._held.took(thread_id, owner, _head_of(trail), trail if paused else None)
        if not latest:
            return None
        if row[3] is None:
            # The lease was taken from the row a racing put committed while this statement
            # waited for its lock, but the statement's snapshot predates that put, so the
            # new checkpoint is not visible to it. Read it now (the lease is ours, so it
            # cannot move again).
            self._held.drop(thread_id)
            row = await self._single(
                "read a checkpoint", thread_id, self._sql["get"], {"tid": thread_id, "seq": latest}
            )
            if row is None or row[2] is None:
                return None  # deleted meanwhile (deleting ignores leases)
            return _raw(row[2:])
        return _raw(row[3:10])

    async def _renew(self, thread_id: str, owner: str, lease_seconds: float) -> bool:
        params = {"tid": thread_id, "owner": owner, "lease": float(lease_seconds)}

        async def renew(conn: Conn) -> bool:
            return (await conn.execute(self._sql["renew"], params)).rowcount == 1

        return await self._run("renew a lease", renew)

    async def _release(self, thread_id: str, owner: str) -> bool:
        async def release(conn: Conn) -> bool:
            return (await conn.execute(self._sql["release"], (thread_id, owner))).rowcount == 1

        return await self._run("release a lease", release)

    async def _take_over(
        self, thread_id: str, owner: str, lease_seconds: float
    ) -> tuple[bool, RawCheckpoint | None]:
        async def take_over(conn: Conn) -> tuple[bool, RawCheckpoint | None]:
            holder = await self._one(conn, "holder", (thread_id,))
            mark = liveness.mark_of(holder[0]) if holder else None
            key = None if mark is None else liveness.pg_key(mark)
            if key is None:
                return False, None
            cur = await conn.execute(liveness.PG_DEAD, {"keys": [key]})
            if await cur.fetchone() is None:
                return False, None  # the holder's session still holds its advisory lock
            cur = await conn.execute(
                _STEAL.format(s=f'"{self.schema}"'),
                {"tid": thread_id, "owner": owner, "dead": holder[0], "lease": lease_seconds},
            )
            stolen = await cur.fetchone()
            if stolen is None:
                return False, None  # someone else took it first
            if not stolen[0]:
                return True, None
            row = await self._one(conn, "get", {"tid": thread_id, "seq": stolen[0]})
            return True, (None if row is None or row[2] is None else _raw(row[2:]))

        return await self._run("take over a dead worker's lease", take_over)

    # --- writing -----------------------------------------------------------------------

    async def _put(self, thread_id: str, owner: str, put: EncodedPut) -> int | None:
        pending = list(reversed(put.pending))  # positions grow; the first interrupt lists first
        params = {
            "tid": thread_id,
            "owner": owner,
            "wid": put.write_id,
            "status": put.status,
            "graph": put.graph,
            "created_at": put.created_at,
            "expires_at": put.expires_at,
            "now": time.time(),
            "release": put.release,
            "record": put.record,
            "keys": list(put.blobs),
            "datas": list(put.blobs.values()),
            "nodes": [p.node for p in pending],
            "ids": [p.interrupt_id for p in pending],
            "payloads": [p.payload for p in pending],
            "clear_ready": put.clear_ready,
            "head": 0,
            "seqs": [],
            "bodies": [],
            "prevs": [],
            "hashes": [],
        }

        noted = self._held.head(thread_id, owner) if put.audit else None
        if not put.audit or noted is not None:
            # the common case, one statement: batched with other runs' writes when any;
            # anything else (no row, or alone) takes the way below, which sorts it out
            head = _chain(params, thread_id, noted, put) if noted is not None else None
            row = await self._batched(thread_id, self._sql["put"], params)
            if row is not ALONE and row is not None:
                self._held.wrote(thread_id, owner, head, released=put.release)
                return int(row[0])

        async def written(conn: Conn) -> int | None:
            row = await self._one(conn, "written", (thread_id, put.write_id))
            return None if row is None else int(row[0])

        async def write(conn: Conn, noted: tuple[int, str] | None = None) -> int | None:
            head: tuple[int, str] | None = None
            if put.audit:
                # chain after the trail's head: as noted with the lease, or as read now;
                # the put re-checks it (the lease holder is the trail's only writer)
                if noted is None:
                    found = await self._one(conn, "head", (thread_id,))
                    at = (0, "") if found is None else (int(found[0]), str(found[1]))
                else:
                    at = noted
                head = _chain(params, thread_id, at, put)
            row = await self._one(conn, "put", params)
            # No row: the lease is not held, or this very write was applied already (or
            # the noted head is stale: then try once more with the head read afresh).
            seq = int(row[0]) if row is not None else await written(conn)
            if seq is None and noted is not None:
                self._held.drop(thread_id)
                return await write(conn)
            if seq is not None:
                self._held.wrote(thread_id, owner, head, released=put.release)
            return seq

        async def first(conn: Conn) -> int | None:
            return await write(conn, noted)

        async def retry(conn: Conn) -> int | None:
            return await written(conn) or await write(conn)

        if put.audit:
            # possibly two round trips (the trail's head, then the put): once begun, finish
            # them even if the caller is cancelled, as a single statement already sent would be
            return await asyncio.shield(self._run("write a checkpoint", first, retry))
        return await self._run("write a checkpoint", first, retry)

    # --- reading -----------------------------------------------------------------------

    async def _get(self, thread_id: str, seq: int | None, now: float) -> RawCheckpoint | None:
        params = {"tid": thread_id, "seq": seq}
        row = await self._single("read a checkpoint", thread_id, self._sql["get"], params)
        if row is None or row[2] is None or (row[1] is not None and row[1] <= now):
            return None
        return _raw(row[2:])

    async def _history(self, thread_id: str, limit: int | None, now: float) -> list[RawCheckpoint]:
        params = {"tid": thread_id, "now": now, "limit": limit}

        async def history(conn: Conn) -> list[RawCheckpoint]:
            return [_raw(row) for row in await self._all(conn, "history", params)]

        return await self._run("read a history", history)

    async def _list_pending(self, limit: int, before: int | None) -> list[RawPending]:
        params = (2**63 - 1 if before is None else before, limit)

        async def list_pending(conn: Conn) -> list[RawPending]:
            return [_pending(row) for row in await self._all(conn, "list_pending", params)]

        return await self._run("list pending interrupts", list_pending)

    async def _find_pending(self, interrupt_id: str) -> RawPending | None:
        params = (interrupt_id,)
        row = await self._single("find a pending interrupt", "", self._sql["find_pending"], params)
        return None if row is None else _pending(row)

    async def _find_pending_with_trail(
        self, interrupt_id: str
    ) -> tuple[RawPending, list[AuditRow]] | None:
        params = (interrupt_id,)
        what = "find a pending interrupt"
        row = await self._single(what, "", self._sql["find_pending_with_trail"], params)
        if row is None:
            return None
        pending = _pending(row[:8])
        return pending, _trail(pending.thread_id, row[8:])

    # --- the audit trail -----------------------------------------------------------------

    async def _append_audit(
        self,
        thread_id: str,
        rows: list[AuditRow],
        checkpoint: int,
        ready_graph: str | None,
        now: float,
    ) -> bool:
        params = {
            "tid": thread_id,
            "checkpoint": checkpoint,
            "now": now,
            "head": rows[0].seq - 1,
            "graph": ready_graph,
            "seqs": [r.seq for r in rows],
            "bodies": [r.body for r in rows],
            "prevs": [r.prev_hash for r in rows],
            "hashes": [r.hash for r in rows],
        }

        async def alone(conn: Conn) -> Any:
            try:
                return await self._one(conn, "append_audit", params)
            except psycopg.errors.UniqueViolation:
                return None  # another writer appended after the head we chained to

        what = "append to the audit trail"
        row = await self._single(what, thread_id, self._sql["append_audit"], params, alone=alone)
        return bool(row and row[0])

    async def _read_audit(self, thread_id: str) -> list[AuditRow]:
        async def read(conn: Conn) -> list[AuditRow]:
            return [_audit_row(row) for row in await self._all(conn, "read_audit", (thread_id,))]

        return await self._run("read the audit trail", read)

    async def _audit_feed(self, after: int, limit: int) -> list[AuditRow]:
        async def feed(conn: Conn) -> list[AuditRow]:
            async with conn.pipeline(), conn.transaction():
                await conn.execute(self._sql["place_lock"])
                await conn.execute(self._sql["place"])
                cur = await conn.execute(self._sql["feed"], (after, limit), binary=True)
                return [AuditRow(*row) for row in await cur.fetchall()]

        return await self._run("read the audit feed", feed)

    async def _list_ready(self, graph: str | None, limit: int) -> list[str]:
        async def ready(conn: Conn) -> list[str]:
            rows = await self._all(conn, "list_ready", {"graph": graph, "limit": limit})
            return [row[0] for row in rows]

        return await self._run("list ready threads", ready)

    async def _ready_among(self, thread_ids: list[str]) -> set[str]:
        async def among(conn: Conn) -> set[str]:
            return {row[0] for row in await self._all(conn, "ready_among", (thread_ids,))}

        return await self._run("read ready marks", among)

    # --- retention ---------------------------------------------------------------------

    async def _delete_thread(self, thread_id: str) -> bool:
        async def delete(conn: Conn) -> bool:
            return int((await self._one(conn, "delete", {"tid": thread_id}))[0]) > 0

        return await self._run("delete a thread", delete)

    async def _prune(self, thread_id: str, keep_last: int) -> int:
        async def prune(conn: Conn) -> int:
            row = await self._one(conn, "prune", {"tid": thread_id, "keep": keep_last})
            return int(row[0])

        return await self._run("prune a thread", prune)

    async def _purge_expired(self, now: float) -> int:
        async def purge(conn: Conn) -> int:
            return int((await self._one(conn, "purge", {"now": now}))[0])

        return await self._run("purge expired threads", purge)


#: hands a dead holder's lease to a new owner (compare-and-set on the dead owner)
_STEAL = """
UPDATE {s}.locus_threads
SET lease_owner = %(owner)s,
    lease_expires = extract(epoch FROM clock_timestamp())::float8 + %(lease)s
WHERE thread_id = %(tid)s AND lease_owner = %(dead)s
RETURNING latest_seq
"""

#: seconds a connection attempt may take when the DSN does not say
CONNECT_TIMEOUT = 5


def _describe(dsn: str) -> tuple[str, dict[str, Any]]:
    """Where ``dsn`` points, for messages (never its password), and the timeout to add.

    Raises:
        CheckpointUsageError: ``dsn`` is not a libpq connection string or URL.
    """
    try:
        info = conninfo_to_dict(dsn)
    except psycopg.Error as exc:
        raise CheckpointUsageError(
            f"not a PostgreSQL connection string: {exc}".strip()
            + " (expected e.g. 'postgresql://user@host:5432/dbname')"
        ) from exc
    host = info.get("host") or info.get("hostaddr") or "the default host"
    where = f"{host}:{info.get('port') or 5432}/{info.get('dbname') or '(default database)'}"
    timeout = {} if "connect_timeout" in info else {"connect_timeout": CONNECT_TIMEOUT}
    return where, timeout


async def _configure(conn: Conn) -> None:
    # Every statement here is keyed lookups: one generic plan per connection serves every
    # call, where custom plans would be re-planned on each execution.
    await conn.execute("SET plan_cache_mode = force_generic_plan")


def _chain(
    params: dict[str, Any], thread_id: str, at: tuple[int, str], put: EncodedPut
) -> tuple[int, str]:
    """Fill the put's audit parameters, chained after the head ``at``; the new head."""
    rows = chain_fields(thread_id, *at, put.audit)
    params.update(
        head=at[0],
        seqs=[r[1] for r in rows],
        bodies=[r[2] for r in rows],
        prevs=[r[3] for r in rows],
        hashes=[r[4] for r in rows],
    )
    return rows[-1][1], rows[-1][4]


def _audit_row(row: Sequence[Any]) -> AuditRow:
    """An audit row read back; an entry no feed reader has placed yet has position 0."""
    thread_id, seq, body, prev_hash, digest, position = row
    return AuditRow(thread_id, seq, body, prev_hash, digest, position or 0)


def _pending(row: Sequence[Any]) -> RawPending:
    """An inbox row: position, thread, graph, node, interrupt, payload, created_at, seq."""
    pos, tid, graph, node, iid, payload, created_at, seq = row
    return RawPending(pos, tid, graph, node, iid, bytes(payload), created_at, seq)


def _trail(thread_id: str, arrays: Sequence[Any]) -> list[AuditRow]:
    """A thread's audit rows from its ``_TRAIL_ARRAYS`` columns (all NULL for no entries)."""
    columns = [column or () for column in arrays]
    return [_audit_row((thread_id, *fields)) for fields in zip(*columns, strict=True)]


def _head_of(trail: list[AuditRow]) -> tuple[int, str]:
    return (trail[-1].seq, trail[-1].hash) if trail else (0, "")


def _raw(row: Sequence[Any]) -> RawCheckpoint:
    seq, created_at, status, graph, record, keys, datas = row
    keys, datas = keys or [], datas or []
    blobs = {
        key: None if data is None else bytes(data) for key, data in zip(keys, datas, strict=True)
    }
    return RawCheckpoint(seq, created_at, status, graph, bytes(record), blobs)
