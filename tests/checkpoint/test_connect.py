"""Store URLs open the checkpointer they name, and malformed ones say what is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from checkpoint_backends import POSTGRES_DSN, REDIS_URL

from locus.checkpoint import (
    MemoryCheckpointer,
    PostgresCheckpointer,
    RedisCheckpointer,
    SQLiteCheckpointer,
    connect,
)
from locus.checkpoint.connect import store_url_from_env
from locus.errors import CheckpointUsageError


def test_memory_url_opens_a_memory_store() -> None:
    assert isinstance(connect("memory://"), MemoryCheckpointer)


def test_sqlite_urls_follow_sqlalchemy_slashes() -> None:
    relative = connect("sqlite:///data/locus.db")
    absolute = connect("sqlite:////var/tmp/locus.db?synchronous=normal")
    assert isinstance(relative, SQLiteCheckpointer) and relative.path == "data/locus.db"
    assert isinstance(absolute, SQLiteCheckpointer) and absolute.path == "/var/tmp/locus.db"


async def test_sqlite_url_store_keeps_a_thread(tmp_path: Path) -> None:
    from locus.multiagent import END, START, StateGraph

    async def step(state: dict[str, int]) -> dict[str, int]:
        return {"n": state["n"] + 1}

    url = f"sqlite:///{tmp_path}/store.db"  # tmp_path is absolute: four slashes in all
    graph = StateGraph("count", checkpointer=connect(url))
    graph.add_node("step", step).add_edge(START, "step").add_edge("step", END)
    await graph.execute({"n": 1}, thread_id="t1")
    await graph.checkpointer.aclose()  # type: ignore[union-attr]
    again = connect(url)
    state = await again.get("t1")
    assert state is not None and state.values["n"] == 2
    await again.aclose()


async def test_postgres_url_with_schema_option_reaches_that_schema(pg_schema: str) -> None:
    sep = "&" if "?" in POSTGRES_DSN else "?"
    cp = connect(f"{POSTGRES_DSN}{sep}schema={pg_schema}")
    assert isinstance(cp, PostgresCheckpointer) and cp.schema == pg_schema
    await cp.setup()
    assert (await cp.list_pending()).items == []
    await cp.aclose()


async def test_redis_url_with_prefix_option_uses_that_prefix(redis_prefix: str) -> None:
    cp = connect(f"{REDIS_URL}?prefix={redis_prefix}")
    assert isinstance(cp, RedisCheckpointer) and cp.prefix == redis_prefix
    await cp.setup()
    assert (await cp.list_pending()).items == []
    await cp.aclose()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("locus.db", "not a URL"),
        ("sqlit:///x.db", "did you mean sqlite://"),
        ("sqlite://host/x.db", "has no host"),
        ("sqlite:///", "names no database file"),
        ("sqlite:///x.db?journal=wal", "unknown option 'journal'"),
        ("sqlite:///x.db?synchronous=off", "FULL or NORMAL"),
        ("mysql://root@localhost/test", "unknown scheme 'mysql'"),
    ],
)
def test_malformed_store_url_says_what_is_accepted(url: str, says: str) -> None:
    with pytest.raises(CheckpointUsageError, match=says):
        connect(url)


def test_password_never_appears_in_a_url_error() -> None:
    with pytest.raises(CheckpointUsageError) as refused:
        connect("postgress://bob:hunter2@db.example/locus")
    assert "hunter2" not in str(refused.value) and "did you mean postgres" in str(refused.value)


def test_store_url_from_env_reads_locus_store() -> None:
    assert store_url_from_env({"LOCUS_STORE": " memory:// "}) == "memory://"
    assert store_url_from_env({"LOCUS_STORE": ""}) is None
    assert store_url_from_env({}) is None
