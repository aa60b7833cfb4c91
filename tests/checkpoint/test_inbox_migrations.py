"""Stores written before the inbox (schema version 1, frozen as fixtures) open, migrate and
resume their paused threads, through the inbox and directly."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest
from checkpoint_backends import POSTGRES_DSN, REDIS_URL

from locus.checkpoint import (
    Checkpointer,
    PostgresCheckpointer,
    RedisCheckpointer,
    SQLiteCheckpointer,
)
from locus.core import Command, interrupt
from locus.errors import SchemaVersionError
from locus.inbox import Actor, Inbox
from locus.multiagent import END, START, StateGraph

FIXTURES = Path(__file__).with_name("fixtures")


def old_graph(cp: Checkpointer) -> StateGraph:
    """The graph that wrote the fixtures (``old_approval``, one node asking once)."""

    def ask(state: dict[str, Any]) -> dict[str, Any]:
        return {"answer": interrupt({"question": "refund 40?"})}

    graph = StateGraph(name="old_approval", checkpointer=cp)
    graph.add_node("ask", ask).add_edge(START, "ask").add_edge("ask", END)
    return graph


async def resumes_through_the_inbox(cp: Checkpointer) -> None:
    inbox = Inbox(cp)
    page = await inbox.pending()
    assert [(i.thread_id, i.payload) for i in page.items] == [("old-1", {"question": "refund 40?"})]
    assert (await inbox.answer(page.items[0].id, "yes", actor=Actor("ann"))).complete
    done = await old_graph(cp).execute(None, thread_id="old-1")
    assert done.final_state == {"amount": 40, "answer": "yes"}
    assert (await inbox.verify_audit("old-1")).ok


def old_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript((FIXTURES / "sqlite_v1_paused.sql").read_text())
    con.close()


async def test_an_sqlite_database_of_the_first_release_migrates_and_resumes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    old_sqlite(path)
    async with SQLiteCheckpointer(path) as cp:
        await resumes_through_the_inbox(cp)
    con = sqlite3.connect(path)
    assert con.execute("SELECT version FROM locus_schema").fetchall() == [(2,)]


async def test_a_migrated_sqlite_thread_also_resumes_directly(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_sqlite(path)
    async with SQLiteCheckpointer(path) as cp:
        done = await old_graph(cp).execute(Command(resume="no"), thread_id="old-1")
    assert done.final_state == {"amount": 40, "answer": "no"}


async def test_an_sqlite_database_of_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    async with SQLiteCheckpointer(path) as cp:
        await cp.setup()
    con = sqlite3.connect(path)
    con.execute("UPDATE locus_schema SET version = 99")
    con.commit()
    con.close()
    with pytest.raises(SchemaVersionError, match="99"):
        async with SQLiteCheckpointer(path) as cp:
            await cp.get("x")


async def test_a_postgres_schema_of_the_first_release_migrates_and_resumes(
    pg_schema: str,
) -> None:
    script = (FIXTURES / "postgres_v1_paused.sql").read_text()
    async with await psycopg.AsyncConnection.connect(POSTGRES_DSN, autocommit=True) as conn:
        await conn.execute(script.replace("locus_oldfixture", f'"{pg_schema}"').encode())
    async with PostgresCheckpointer(POSTGRES_DSN, schema=pg_schema) as cp:
        await resumes_through_the_inbox(cp)
    async with await psycopg.AsyncConnection.connect(POSTGRES_DSN, autocommit=True) as conn:
        cur = await conn.execute(f'SELECT version FROM "{pg_schema}".locus_schema')
        assert await cur.fetchall() == [(3,)]


async def test_a_postgres_schema_of_version_2_keeps_its_feed_and_places_new_entries_after_it(
    pg_schema: str,
) -> None:
    """Version 3 numbers audit entries when a feed reads them; the entries version 2
    numbered as it wrote them keep their positions, and a stored answer still resumes."""
    script = (FIXTURES / "postgres_v2_answered.sql").read_text()
    async with await psycopg.AsyncConnection.connect(POSTGRES_DSN, autocommit=True) as conn:
        await conn.execute(script.replace("locus_v2fixture", f'"{pg_schema}"').encode())
    async with PostgresCheckpointer(POSTGRES_DSN, schema=pg_schema) as cp:
        inbox = Inbox(cp)
        before = [(e.thread_id, e.kind, e.position) for e in await inbox.feed()]
        assert before == [("old-1", "asked", 1), ("old-2", "asked", 2), ("old-1", "answered", 3)]
        done = await old_graph(cp).execute(None, thread_id="old-1")
        assert done.final_state == {"amount": 40, "answer": "yes"}
        [waiting] = (await inbox.pending()).items
        assert waiting.thread_id == "old-2"
        await inbox.answer(waiting.id, "no", actor=Actor("cy"))
        after = [(e.thread_id, e.kind, e.position) for e in await inbox.feed(after=3)]
        assert after == [
            ("old-1", "resumed", 4),
            ("old-1", "finished", 5),
            ("old-2", "answered", 6),
        ]
        for thread in ("old-1", "old-2"):
            assert (await inbox.verify_audit(thread)).ok
    async with await psycopg.AsyncConnection.connect(POSTGRES_DSN, autocommit=True) as conn:
        cur = await conn.execute(f'SELECT version FROM "{pg_schema}".locus_schema')
        assert await cur.fetchall() == [(3,)]


async def test_redis_keys_of_the_first_release_are_indexed_and_resume(redis_prefix: str) -> None:
    import redis.asyncio as aredis

    async with RedisCheckpointer(REDIS_URL, prefix=redis_prefix) as cp:
        await old_graph(cp).execute({"amount": 40}, thread_id="old-1")
    # the first release kept no layout version and no interrupt index
    client = aredis.Redis.from_url(REDIS_URL)
    await client.delete(f"{redis_prefix}schema", f"{redis_prefix}px", f"{redis_prefix}a:old-1")
    await client.aclose()
    async with RedisCheckpointer(REDIS_URL, prefix=redis_prefix) as cp:
        await resumes_through_the_inbox(cp)
