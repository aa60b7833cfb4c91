"""PostgreSQL-only behaviour: dead pooled connections replaced silently, lock waits under races."""

from __future__ import annotations

import asyncio

import psycopg
from checkpoint_backends import POSTGRES_DSN
from psycopg.conninfo import make_conninfo

from locus.checkpoint import PostgresCheckpointer
from locus.checkpoint.codec import encode_put


async def terminate(application_name: str) -> int:
    async with await psycopg.AsyncConnection.connect(POSTGRES_DSN, autocommit=True) as admin:
        cur = await admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            (application_name,),
        )
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


async def test_calls_succeed_after_the_server_kills_every_pooled_connection(
    pg_schema: str,
) -> None:
    name = f"locus-terminate-{pg_schema}"
    dsn = make_conninfo(POSTGRES_DSN, application_name=name)
    async with PostgresCheckpointer(dsn, schema=pg_schema, min_size=3, max_size=3) as cp:
        await cp.acquire("t", "w1", lease_seconds=30)
        await cp.put("t", "w1", changes={"a": 1}, status="running", run={}, pending=[], graph="g")

        assert await terminate(name) == 3
        got = await cp.get("t")
        assert got is not None
        assert got.values == {"a": 1}

        assert await terminate(name) >= 1
        seq = await cp.put(
            "t", "w1", changes={"a": 2}, status="paused", run={}, pending=[], graph="g"
        )
        assert seq == 2
        assert [c.seq for c in await cp.history("t")] == [2, 1]

        assert await terminate(name) >= 1
        await cp.renew("t", "w1", 30)
        assert await cp.release("t", "w1") is True


async def test_batched_calls_succeed_after_the_server_kills_every_pooled_connection(
    pg_schema: str,
) -> None:
    """A batch sent on a dead connection fails as a whole; each call then runs alone,
    on a fresh connection, and is applied once."""
    name = f"locus-terminate-{pg_schema}"
    dsn = make_conninfo(POSTGRES_DSN, application_name=name)
    async with PostgresCheckpointer(dsn, schema=pg_schema, min_size=3, max_size=3) as cp:
        ids = [f"t{i}" for i in range(10)]
        await asyncio.gather(*(cp.acquire(tid, "w1", lease_seconds=30) for tid in ids))
        assert await terminate(name) == 3
        seqs = await asyncio.gather(
            *(
                cp.put(
                    tid, "w1", changes={"a": tid}, status="running", run={}, pending=[], graph="g"
                )
                for tid in ids
            )
        )
        assert seqs == [1] * 10
        assert cp._batcher is not None and cp._batcher.batches >= 1
        for tid in ids:
            assert [c.values for c in await cp.history(tid)] == [{"a": tid}]


async def test_a_put_sent_twice_is_applied_once(pg_schema: str) -> None:
    """What a retry after a lost reply does: the write id makes the second send a no-op."""
    async with PostgresCheckpointer(POSTGRES_DSN, schema=pg_schema) as cp:
        await cp.acquire("t", "w1", lease_seconds=30)
        put = encode_put("t", {"a": 1}, "paused", {}, [], "g", None, False)
        assert await cp._put("t", "w1", put) == 1
        assert await cp._put("t", "w1", put) == 1
        assert [c.seq for c in await cp.history("t")] == [1]


async def test_an_acquire_that_waited_for_a_releasing_put_loads_what_that_put_wrote(
    pg_schema: str,
) -> None:
    # A resumer's acquire meets the row lock of a put that pauses and releases the thread.
    # It takes the lease from the row that put committed, and must load that put's
    # checkpoint, which its own statement snapshot (taken before the commit) cannot see.
    s = f'"{pg_schema}"'
    async with PostgresCheckpointer(POSTGRES_DSN, schema=pg_schema, max_size=2) as cp:
        await cp.acquire("t", "runner", lease_seconds=30)
        await cp.put(
            "t", "runner", changes={"a": 1}, status="running", run={}, pending=[], graph="g"
        )
        async with await psycopg.AsyncConnection.connect(POSTGRES_DSN) as putter:
            async with putter.transaction():
                # what the runner's pausing put does: checkpoint 2, lease handed back
                await putter.execute(
                    f"UPDATE {s}.locus_threads SET latest_seq = 2, lease_owner = NULL, "
                    "lease_expires = 0 WHERE thread_id = 't'"
                )
                await putter.execute(
                    f"INSERT INTO {s}.locus_checkpoints SELECT thread_id, 2, created_at, "
                    "'paused', graph, manifest, record FROM {s}.locus_checkpoints "
                    "WHERE thread_id = 't' AND seq = 1".replace("{s}", s)
                )
                acquiring = asyncio.ensure_future(cp.acquire("t", "resumer", lease_seconds=30))
                await wait_for_a_lock_wait(pg_schema)
            stored = await acquiring
        assert stored is not None
        assert (stored.seq, stored.status, stored.values) == (2, "paused", {"a": 1})


async def test_a_resume_that_waited_for_an_answer_being_stored_resumes_with_it(
    pg_schema: str,
) -> None:
    # The worker's acquire meets the row lock of the inbox storing the answer. Its statement
    # snapshot predates that answer, so the trail it read with the lease lacks it: it must
    # read the trail again and resume with the answer, not find none.
    from locus.checkpoint.audit import AuditDraft, chain
    from locus.core import interrupt
    from locus.multiagent import END, START, StateGraph

    async with PostgresCheckpointer(POSTGRES_DSN, schema=pg_schema, max_size=2) as cp:
        graph = StateGraph("refunds", checkpointer=cp)
        graph.add_node("ask", lambda s: {"answer": interrupt("refund?")})
        graph.add_edge(START, "ask").add_edge("ask", END)
        await graph.execute({}, thread_id="t")
        row = await cp.find_pending_with_trail((await cp.list_pending()).items[0].interrupt_id)
        assert row is not None
        pending, trail = row
        answer = AuditDraft(
            kind="answered",
            at=1.0,
            interrupt_id=pending.interrupt_id,
            node="ask",
            actor={"id": "ann", "roles": [], "display_name": None},
            data={"checkpoint": pending.seq, "value": "yes", "complete": True},
        )
        rows = chain("t", trail[-1].seq, trail[-1].hash, [answer])
        async with await psycopg.AsyncConnection.connect(POSTGRES_DSN) as inbox:
            async with inbox.transaction():
                await inbox.execute(
                    cp._sql["append_audit"],
                    {
                        "tid": "t",
                        "checkpoint": pending.seq,
                        "now": 1.0,
                        "head": trail[-1].seq,
                        "graph": "refunds",
                        "seqs": [r.seq for r in rows],
                        "bodies": [r.body for r in rows],
                        "prevs": [r.prev_hash for r in rows],
                        "hashes": [r.hash for r in rows],
                    },
                )
                resuming = asyncio.ensure_future(graph.execute(None, thread_id="t"))
                await wait_for_a_lock_wait(pg_schema)
            done = await resuming
        assert done.final_state == {"answer": "yes"}


async def wait_for_a_lock_wait(schema: str) -> None:
    """Return once some statement on ``schema`` waits for a lock."""
    async with await psycopg.AsyncConnection.connect(POSTGRES_DSN, autocommit=True) as admin:
        while True:
            cur = await admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND position(%s in query) > 0",
                (schema,),
            )
            row = await cur.fetchone()
            if row is not None and row[0] > 0:
                return
            await asyncio.sleep(0.01)
