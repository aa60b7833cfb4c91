"""Calls of concurrent callers sent together: PostgreSQL statements as one pipelined
transaction, Redis scripts as one pipeline. Against the real servers.

What batching must keep: each caller gets its own outcome, as if it had run alone. On
PostgreSQL a batch is one transaction, so one failing statement undoes the batch and
every caller runs alone again; on Redis each script stays its own atomic unit, so one
error touches no other call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest
import redis.asyncio as aredis
from checkpoint_backends import POSTGRES_DSN, REDIS_URL
from psycopg_pool import AsyncConnectionPool

from locus.checkpoint import PostgresCheckpointer, RedisCheckpointer
from locus.checkpoint.audit import AuditDraft, AuditRow, chain
from locus.checkpoint.base import Checkpointer
from locus.checkpoint.batching import ALONE
from locus.checkpoint.postgres_batch import StatementBatcher
from locus.checkpoint.redis_batch import ScriptBatcher
from locus.errors import CheckpointUsageError, ResumeConflictError


@pytest.fixture
async def pool(pg_schema: str) -> AsyncIterator[AsyncConnectionPool[psycopg.AsyncConnection]]:
    async with await psycopg.AsyncConnection.connect(POSTGRES_DSN, autocommit=True) as conn:
        await conn.execute(f'CREATE SCHEMA "{pg_schema}"')
        await conn.execute(
            f'CREATE TABLE "{pg_schema}".log (id serial PRIMARY KEY, key text UNIQUE NOT NULL)'
        )
    pool: AsyncConnectionPool[psycopg.AsyncConnection] = AsyncConnectionPool(
        POSTGRES_DSN, min_size=1, max_size=4, kwargs={"autocommit": True}, open=False
    )
    await pool.open(wait=True)
    yield pool
    await pool.close()


async def logged(pool: AsyncConnectionPool[psycopg.AsyncConnection], schema: str) -> list[str]:
    async with pool.connection() as conn:
        cur = await conn.execute(f'SELECT key FROM "{schema}".log ORDER BY id')
        return [row[0] for row in await cur.fetchall()]


# --- PostgreSQL: the batcher on its own ------------------------------------------------------


async def test_statements_queued_together_run_in_one_transaction_each_with_its_own_row(
    pool: AsyncConnectionPool[psycopg.AsyncConnection],
) -> None:
    batcher = StatementBatcher(pool.connection)
    rows = await asyncio.gather(
        *(batcher.send(f"k{i}", ("SELECT %s::int, txid_current()", (i,))) for i in range(10))
    )
    assert [row[0] for row in rows] == list(range(10))
    assert len({row[1] for row in rows}) == 1  # one transaction
    assert (batcher.batches, batcher.batched) == (1, 10)


async def test_a_batch_runs_in_the_order_of_its_keys(
    pool: AsyncConnectionPool[psycopg.AsyncConnection], pg_schema: str
) -> None:
    batcher = StatementBatcher(pool.connection)
    insert = f'INSERT INTO "{pg_schema}".log (key) VALUES (%s) RETURNING id'
    await asyncio.gather(*(batcher.send(key, (insert, (key,))) for key in ["c", "a", "d", "b"]))
    assert await logged(pool, pg_schema) == ["a", "b", "c", "d"]


async def test_one_failing_statement_undoes_its_batch_and_every_caller_is_told(
    pool: AsyncConnectionPool[psycopg.AsyncConnection], pg_schema: str
) -> None:
    batcher = StatementBatcher(pool.connection)
    insert = f'INSERT INTO "{pg_schema}".log (key) VALUES (%s) RETURNING id'
    outcomes = await asyncio.gather(
        batcher.send("a", (insert, ("a",))),
        batcher.send("b", ("SELECT 1 / %s", (0,))),
        batcher.send("c", (insert, ("c",))),
    )
    assert list(outcomes) == [ALONE, ALONE, ALONE]  # every caller runs its statement alone
    assert await logged(pool, pg_schema) == []  # nothing of the batch committed
    # the batcher goes on working
    await asyncio.gather(batcher.send("a", (insert, ("a",))), batcher.send("c", (insert, ("c",))))
    assert await logged(pool, pg_schema) == ["a", "c"]


async def test_a_lone_statement_is_left_to_its_caller(
    pool: AsyncConnectionPool[psycopg.AsyncConnection],
) -> None:
    batcher = StatementBatcher(pool.connection)
    assert await batcher.send("a", ("SELECT 1", None)) is ALONE
    assert batcher.batches == 0


# --- through the stores ----------------------------------------------------------------------


async def paused_threads(cp: Checkpointer, count: int) -> list[str]:
    """``count`` threads, each paused at checkpoint 1 with no lease and an empty trail."""
    ids = [f"t{i}" for i in range(count)]
    for tid in ids:
        await cp.acquire(tid, "w", lease_seconds=30)
        await cp.put(
            tid, "w", changes={}, status="paused", run={}, pending=[], graph="g", release=True
        )
    return ids


async def concurrent_puts_each_get_their_own_outcome(cp: Checkpointer) -> None:
    ids = [f"p{i}" for i in range(12)]
    for tid in ids:
        await cp.acquire(tid, "w", lease_seconds=30)
    await cp.release("p5", "w")  # this one no longer holds its lease

    async def put(tid: str) -> int:
        return await cp.put(
            tid, "w", changes={"n": tid}, status="running", run={}, pending=[], graph="g"
        )

    outcomes = await asyncio.gather(*(put(tid) for tid in ids), return_exceptions=True)
    for tid, outcome in zip(ids, outcomes, strict=True):
        if tid == "p5":
            assert isinstance(outcome, ResumeConflictError)
        else:
            assert outcome == 1
            stored = await cp.get(tid)
            assert stored is not None and stored.values == {"n": tid}
    assert await cp.get("p5") is None


async def racing_appends_leave_exactly_one_winner(cp: Checkpointer) -> None:
    ids = await paused_threads(cp, 6)

    def answer(tid: str, who: str) -> list[AuditRow]:
        return chain(tid, 0, "", [AuditDraft(kind="answered", at=1.0, actor={"id": who})])

    # two answers to t0, chained after the same head, in one batch with the others
    calls = [(ids[0], answer(ids[0], "ann")), (ids[0], answer(ids[0], "bob"))]
    calls += [(tid, answer(tid, "ann")) for tid in ids[1:]]
    stored = await asyncio.gather(
        *(cp.append_audit(tid, rows, checkpoint=1) for tid, rows in calls)
    )
    assert sorted(stored[:2]) == [False, True]
    assert all(stored[2:])
    for tid in ids:
        assert len(await cp.read_audit(tid)) == 1


@pytest.fixture(params=["postgres", "redis"])
async def server_store(
    request: pytest.FixtureRequest, pg_schema: str, redis_prefix: str
) -> AsyncIterator[PostgresCheckpointer | RedisCheckpointer]:
    """Each store that batches, on a schema or key prefix of its own."""
    cp: PostgresCheckpointer | RedisCheckpointer
    if request.param == "postgres":
        cp = PostgresCheckpointer(POSTGRES_DSN, schema=pg_schema)
    else:
        cp = RedisCheckpointer(REDIS_URL, prefix=redis_prefix)
    async with cp:
        yield cp


async def test_concurrent_puts_are_batched_and_each_gets_its_own_outcome(
    server_store: PostgresCheckpointer | RedisCheckpointer,
) -> None:
    await concurrent_puts_each_get_their_own_outcome(server_store)
    assert server_store._batcher is not None and server_store._batcher.batched >= 11


async def test_racing_audit_appends_in_one_batch_leave_one_winner(
    server_store: PostgresCheckpointer | RedisCheckpointer,
) -> None:
    await racing_appends_leave_exactly_one_winner(server_store)


async def test_batch_size_one_sends_every_call_on_its_own(
    pg_schema: str, redis_prefix: str
) -> None:
    async with PostgresCheckpointer(POSTGRES_DSN, schema=pg_schema, batch_size=1) as cp:
        await concurrent_puts_each_get_their_own_outcome(cp)
        assert cp._batcher is None
    async with RedisCheckpointer(REDIS_URL, prefix=redis_prefix, batch_size=1) as rcp:
        await concurrent_puts_each_get_their_own_outcome(rcp)
        assert rcp._batcher is None


@pytest.mark.parametrize("size", [0, -1, True, 2.5, "8"])
def test_a_batch_size_below_one_or_not_an_int_is_refused(size: object) -> None:
    with pytest.raises(CheckpointUsageError, match="batch_size must be an int of at least 1"):
        PostgresCheckpointer(POSTGRES_DSN, batch_size=size)  # type: ignore[arg-type]
    with pytest.raises(CheckpointUsageError, match="batch_size must be an int of at least 1"):
        RedisCheckpointer(REDIS_URL, batch_size=size)  # type: ignore[arg-type]


# --- Redis: the batcher on its own -----------------------------------------------------------


async def test_redis_an_error_reply_touches_only_its_own_call(redis_prefix: str) -> None:
    client = aredis.Redis.from_url(REDIS_URL)
    try:
        echo = await client.script_load("return ARGV[1]")
        fail = await client.script_load("return redis.error_reply('boom')")
        batcher = ScriptBatcher(lambda: client)
        replies = await asyncio.gather(
            batcher.send("", (echo, [redis_prefix + "k"], ["a"])),
            batcher.send("", (fail, [], [])),
            batcher.send("", ("0" * 40, [], [])),  # a script the server does not have
            batcher.send("", (echo, [redis_prefix + "k"], ["b"])),
        )
        assert list(replies) == [b"a", ALONE, ALONE, b"b"]
        assert (batcher.batches, batcher.batched) == (1, 4)
        assert await batcher.send("", (echo, [], ["c"])) is ALONE  # alone: not sent
    finally:
        await client.aclose()
