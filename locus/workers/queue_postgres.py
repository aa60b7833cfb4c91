"""The work queue in PostgreSQL: workers on many machines.

Claims take ready rows with ``FOR UPDATE SKIP LOCKED``, so concurrent workers never wait
on each other's rows. A submit notifies ``LISTEN``-ing workers in its own transaction (an
answer stored by ``locus.inbox`` too, through a trigger on its ready marks), so an idle
worker wakes in milliseconds; the poll is only a safety net. A worker's liveness
mark is a session-level advisory lock on a connection of its own (the same one that
listens): when the worker dies the server drops it, and ``reap`` hands its items back.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import Any

import psycopg

from locus.checkpoint.postgres import PostgresCheckpointer
from locus.errors import CheckpointError
from locus.workers.queue import COLUMNS, WorkItem, WorkQueue, WorkState, item_from_row

__all__ = ["PostgresQueue"]

Conn = psycopg.AsyncConnection[Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS {s}.locus_work (
    thread_id text PRIMARY KEY,
    graph text NOT NULL,
    kind text NOT NULL,
    payload bytea NOT NULL,
    token text NOT NULL,
    priority integer NOT NULL,
    state text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    error text,
    claimed_by text,
    queued_at double precision NOT NULL,
    claims integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS locus_work_ready ON {s}.locus_work (graph, priority DESC, queued_at)
    WHERE state = 'ready';
CREATE INDEX IF NOT EXISTS locus_work_claimed ON {s}.locus_work (claimed_by)
    WHERE state = 'claimed'
"""


# Stores the item as ready unless the thread has one. ``checked``: only on a thread in the
# state the item needs (what ``submit`` checks): a new or finished thread for a run, a
# paused one for answers; of the item's graph either way.
_ENQUEUE = f"""
WITH s AS (
    SELECT c.status, c.graph FROM {{s}}.locus_threads AS t
    JOIN {{s}}.locus_checkpoints AS c ON c.thread_id = t.thread_id AND c.seq = t.latest_seq
    WHERE %(checked)s AND t.thread_id = %(tid)s
      AND (t.expires_at IS NULL OR t.expires_at > extract(epoch FROM clock_timestamp()))
), w AS (
    INSERT INTO {{s}}.locus_work ({COLUMNS})
    SELECT %(tid)s, %(graph)s, %(kind)s, %(payload)s, %(token)s, %(priority)s, 'ready', 0,
           NULL, NULL, %(at)s, 0
    WHERE NOT %(checked)s OR CASE WHEN %(kind)s = 'start'
        THEN NOT EXISTS (SELECT FROM s WHERE s.status <> 'done' OR s.graph <> %(graph)s)
        ELSE EXISTS (SELECT FROM s WHERE s.status = 'paused' AND s.graph = %(graph)s) END
    ON CONFLICT (thread_id) DO NOTHING
    RETURNING graph
)
SELECT pg_notify(%(channel)s, graph) FROM w
"""

_RETURNED = ", ".join("w." + c.strip() for c in COLUMNS.split(","))

# Threads the inbox marked ready (answers stored) that have no item yet come first: each
# becomes an item claimed in the same statement, so exactly one worker runs it and a dead
# worker's is handed back by ``reap`` like any other. Answers go before queued work because
# they resume runs already under way, often with a person waiting on the outcome. Queued
# items fill the rest, by priority, then age.
_CLAIM = f"""
WITH m AS (
    SELECT x.thread_id, x.graph, x.at FROM unnest(%(graphs)s::text[]) AS g (name)
    CROSS JOIN LATERAL (
        SELECT r.thread_id, r.graph, r.at FROM {{s}}.locus_ready AS r
        WHERE r.graph = g.name
          AND NOT EXISTS (SELECT FROM {{s}}.locus_work AS o WHERE o.thread_id = r.thread_id)
        ORDER BY r.at
        LIMIT %(limit)s
        FOR UPDATE OF r SKIP LOCKED
    ) AS x
    ORDER BY x.at
    LIMIT %(limit)s
), r AS (
    INSERT INTO {{s}}.locus_work AS w ({COLUMNS})
    SELECT m.thread_id, m.graph, 'ready', ''::bytea, %(token)s || m.thread_id, 0, 'claimed',
           0, NULL, %(mark)s, m.at, 1
    FROM m
    ON CONFLICT (thread_id) DO NOTHING
    RETURNING {_RETURNED}
), c AS (
    SELECT x.thread_id FROM unnest(%(graphs)s::text[]) AS g (name)
    CROSS JOIN LATERAL (
        SELECT thread_id, priority, queued_at FROM {{s}}.locus_work
        WHERE state = 'ready' AND graph = g.name
        ORDER BY priority DESC, queued_at
        LIMIT greatest(0, %(limit)s - (SELECT count(*) FROM r))
        FOR UPDATE SKIP LOCKED
    ) AS x
    ORDER BY x.priority DESC, x.queued_at
    LIMIT greatest(0, %(limit)s - (SELECT count(*) FROM r))
), q AS (
    UPDATE {{s}}.locus_work AS w
    SET state = 'claimed', claimed_by = %(mark)s, claims = w.claims + 1
    FROM c
    WHERE w.thread_id = c.thread_id
    RETURNING {_RETURNED}
)
SELECT * FROM r UNION ALL SELECT * FROM q
"""

# Items of workers whose advisory lock is gone (dead), or whose lease on the item's thread
# ran out unrenewed (stopped, or cut off from the server): ready again.
_REAP = """
WITH marks AS (
    SELECT DISTINCT claimed_by AS m FROM {s}.locus_work
    WHERE state = 'claimed' AND claimed_by ~ '^pg[0-9]+$'
), dead AS (
    SELECT m FROM marks WHERE NOT EXISTS (
        SELECT FROM pg_locks AS l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND ((l.classid::int8 << 32) | l.objid::int8) = substr(m, 3)::int8)
), reaped AS (
    UPDATE {s}.locus_work AS w SET state = 'ready', claimed_by = NULL
    WHERE w.state = 'claimed' AND (
        w.claimed_by IN (SELECT m FROM dead)
        OR EXISTS (
            SELECT FROM {s}.locus_threads AS t
            WHERE t.thread_id = w.thread_id AND t.lease_owner LIKE w.claimed_by || '.%%'
              AND t.lease_expires <= extract(epoch FROM clock_timestamp())))
    RETURNING graph
)
SELECT count(*), (SELECT count(pg_notify(%(channel)s, graph)) FROM reaped) FROM reaped
"""


class PostgresQueue(WorkQueue):
    """Work items in the ``locus_work`` table of a ``PostgresCheckpointer``'s schema."""

    has_liveness = True
    claims_ready = True
    wakes_all = True

    def __init__(self, checkpointer: PostgresCheckpointer) -> None:
        super().__init__(checkpointer)
        self.cp = checkpointer
        quoted = f'"{checkpointer.schema}"'
        self._sql = {
            "enqueue": _ENQUEUE.format(s=quoted),
            "claim": _CLAIM.format(s=quoted),
            "reap": _REAP.format(s=quoted),
        }
        self._s = quoted
        # one channel per schema: workers of other schemas are not woken
        self.channel = f"locus_work_{checkpointer.schema}"
        self._ready = False
        self._setup_lock = asyncio.Lock()
        self._conn: Conn | None = None
        self._woken: asyncio.Event | None = None
        self._listener: asyncio.Task[None] | None = None
        self._lost = False

    async def setup(self) -> None:
        await self.cp.setup()
        if self._ready:
            return
        async with self._setup_lock:
            if not self._ready:
                await self._create()

    async def _create(self) -> None:
        async def create(conn: Conn) -> None:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(7170420632)")
                for statement in _SCHEMA.format(s=self._s).split(";"):
                    if statement.strip():
                        await conn.execute(statement.encode(), prepare=False)

        await self.cp._run("create the work queue", create)
        await self.cp._run("wake workers on answers", self._wake_on_answers)
        self._ready = True

    async def _wake_on_answers(self, conn: Conn) -> None:
        """Notify workers when the inbox marks a thread ready (``locus_ready``, when the
        store has it): a trigger, so the inbox's own statement needs no change."""
        table = f"{self._s}.locus_ready"
        found = await (await conn.execute("SELECT to_regclass(%s)", (table,))).fetchone()
        if found is None or found[0] is None:
            return
        function = f"{self._s}.locus_ready_wake"
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(7170420633)")
            await conn.execute(
                f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql "
                f"AS $f$ BEGIN PERFORM pg_notify('{self.channel}', NEW.graph); RETURN NULL; "
                "END $f$".encode(),
                prepare=False,
            )
            await conn.execute(
                f"CREATE OR REPLACE TRIGGER locus_ready_wake AFTER INSERT ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {function}()".encode(),
                prepare=False,
            )

    async def hold_mark(self) -> str:
        """Open this worker's own connection, take its advisory lock and listen on it."""
        key = int.from_bytes(os.urandom(8), "big") >> 2  # positive, below 2**62
        try:
            conn = await psycopg.AsyncConnection.connect(self.cp.dsn, **self.cp._connect_kwargs)
            await conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            await conn.execute(f'LISTEN "{self.channel}"')
        except psycopg.Error as exc:
            raise CheckpointError(f"PostgreSQL failed to start a worker session: {exc}") from exc
        self._conn = conn
        self._woken = asyncio.Event()
        self._listener = asyncio.ensure_future(self._listen(conn, self._woken))
        return f"pg{key}"

    async def _listen(self, conn: Conn, woken: asyncio.Event) -> None:
        try:
            async for _ in conn.notifies():
                woken.set()
        except psycopg.Error:
            self._lost = True  # the session, and its advisory lock, are gone
            woken.set()

    def mark_lost(self) -> bool:
        return self._lost

    async def drop_mark(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()  # ends the session: the advisory lock goes with it

    async def wait(self, graphs: Sequence[str], seconds: float) -> None:
        woken = self._woken
        if woken is None:
            await asyncio.sleep(seconds)
            return
        try:
            await asyncio.wait_for(woken.wait(), seconds)
        except TimeoutError:
            return
        woken.clear()

    async def enqueue(self, item: WorkItem) -> bool:
        return await self._enqueue(item, checked=False)

    async def enqueue_checked(self, item: WorkItem) -> bool:
        return await self._enqueue(item, checked=True)

    async def _enqueue(self, item: WorkItem, *, checked: bool) -> bool:
        await self.setup()
        params = {
            "tid": item.thread_id,
            "graph": item.graph,
            "kind": item.kind,
            "payload": item.payload,
            "token": item.token,
            "priority": item.priority,
            "at": item.queued_at,
            "channel": self.channel,
            "checked": checked,
        }

        row = await self.cp._single("submit a run", item.thread_id, self._sql["enqueue"], params)
        return row is not None

    async def replace(self, old: WorkItem, new: WorkItem) -> bool:
        params = {
            "graph": new.graph,
            "kind": new.kind,
            "payload": new.payload,
            "token": new.token,
            "priority": new.priority,
            "at": new.queued_at,
            "tid": old.thread_id,
            "old": old.token,
            "channel": self.channel,
        }

        async def replace(conn: Conn) -> bool:
            cur = await conn.execute(
                f"WITH w AS (UPDATE {self._s}.locus_work SET graph = %(graph)s, "
                "kind = %(kind)s, payload = %(payload)s, token = %(token)s, "
                "priority = %(priority)s, state = 'ready', attempts = 0, error = NULL, "
                "claimed_by = NULL, queued_at = %(at)s, claims = 0 "
                "WHERE thread_id = %(tid)s AND token = %(old)s RETURNING graph) "
                "SELECT pg_notify(%(channel)s, graph) FROM w",
                params,
            )
            return await cur.fetchone() is not None

        return await self.cp._run("submit an answer", replace)

    async def claim(self, graphs: Sequence[str], mark: str, limit: int) -> list[WorkItem]:
        params = {
            "graphs": list(graphs),
            "mark": mark,
            "limit": limit,
            "token": f"answer-{os.urandom(6).hex()}-",
        }

        async def claim(conn: Conn) -> list[WorkItem]:
            cur = await conn.execute(self._sql["claim"], params)
            return [item_from_row(row) for row in await cur.fetchall()]

        return await self.cp._run("claim work", claim)

    async def _update(self, what: str, sql: str, params: Any) -> int:
        async def update(conn: Conn) -> int:
            return (await conn.execute(sql.format(s=self._s), params)).rowcount

        return await self.cp._run(what, update)

    async def finish(self, items: Sequence[WorkItem]) -> None:
        await self._update(
            "finish work",
            "DELETE FROM {s}.locus_work AS w USING unnest(%s::text[], %s::text[]) AS d (t, k) "
            "WHERE w.thread_id = d.t AND w.token = d.k",
            ([i.thread_id for i in items], [i.token for i in items]),
        )

    async def fail(self, item: WorkItem, error: str) -> None:
        await self._update(
            "record a failure",
            "UPDATE {s}.locus_work SET state = 'failed', error = %s, attempts = %s, "
            "claimed_by = NULL WHERE thread_id = %s AND token = %s",
            (error, item.attempts, item.thread_id, item.token),
        )

    async def unclaim(self, item: WorkItem) -> None:
        await self._update(
            "hand work back",
            "WITH w AS (UPDATE {s}.locus_work SET state = 'ready', claimed_by = NULL "
            "WHERE thread_id = %s AND token = %s AND state = 'claimed' RETURNING graph) "
            "SELECT pg_notify(%s, graph) FROM w",
            (item.thread_id, item.token, self.channel),
        )

    async def retry(self, thread_id: str) -> bool:
        await self.setup()

        async def retry(conn: Conn) -> bool:
            cur = await conn.execute(
                f"WITH w AS (UPDATE {self._s}.locus_work SET state = 'ready', attempts = 0, "
                "error = NULL, queued_at = extract(epoch FROM clock_timestamp()) "
                "WHERE thread_id = %s AND state = 'failed' RETURNING graph) "
                "SELECT pg_notify(%s, graph) FROM w",
                (thread_id, self.channel),
            )
            return await cur.fetchone() is not None

        return await self.cp._run("retry a failed run", retry)

    async def reap(self, graphs: Sequence[str], mark: str) -> tuple[int, list[WorkItem]]:
        async def reap(conn: Conn) -> int:
            cur = await conn.execute(self._sql["reap"], {"channel": self.channel})
            row = await cur.fetchone()
            return int(row[0]) if row else 0

        return await self.cp._run("hand back a dead worker's work", reap), []

    async def get(self, thread_id: str) -> WorkItem | None:
        await self.setup()

        async def get(conn: Conn) -> WorkItem | None:
            cur = await conn.execute(
                f"SELECT {COLUMNS} FROM {self._s}.locus_work WHERE thread_id = %s",
                (thread_id,),
            )
            row = await cur.fetchone()
            return None if row is None else item_from_row(row)

        return await self.cp._run("read a work item", get)

    async def items(
        self, state: WorkState | None = None, graph: str | None = None, limit: int = 100
    ) -> list[WorkItem]:
        await self.setup()

        async def items(conn: Conn) -> list[WorkItem]:
            cur = await conn.execute(
                f"SELECT {COLUMNS} FROM {self._s}.locus_work "
                "WHERE (%(state)s::text IS NULL OR state = %(state)s) "
                "AND (%(graph)s::text IS NULL OR graph = %(graph)s) "
                "ORDER BY queued_at LIMIT %(limit)s",
                {"state": state, "graph": graph, "limit": limit},
            )
            return [item_from_row(row) for row in await cur.fetchall()]

        return await self.cp._run("list work items", items)
