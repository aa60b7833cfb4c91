"""Opening a store that is not there fails at once, saying why, in a StoreUnavailableError.

Wrong PostgreSQL DSNs (a port nobody listens on, a database that does not exist, a port
that is not a number, text that is no DSN at all) and SQLite paths in missing or
unusable directories.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from checkpoint_backends import POSTGRES_DSN
from psycopg.conninfo import make_conninfo

from locus.checkpoint import PostgresCheckpointer, SQLiteCheckpointer
from locus.errors import CheckpointUsageError, StoreUnavailableError


def closed_port() -> int:
    """A local TCP port nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_postgres_port_nobody_listens_on_fails_at_once_with_the_reason() -> None:
    port = closed_port()
    cp = PostgresCheckpointer(f"postgresql://postgres@127.0.0.1:{port}/test")
    with pytest.raises(StoreUnavailableError, match=rf"127\.0\.0\.1:{port}/test.*refused"):
        await cp.setup()


async def test_postgres_missing_database_is_named_with_the_servers_reason(
    pg_schema: str,
) -> None:
    dsn = make_conninfo(POSTGRES_DSN, dbname="locus_no_such_database")
    cp = PostgresCheckpointer(dsn, schema=pg_schema)
    with pytest.raises(
        StoreUnavailableError, match=r'database "locus_no_such_database" does not exist'
    ):
        await cp.list_pending()


async def test_postgres_port_that_is_not_a_number_is_reported() -> None:
    cp = PostgresCheckpointer("postgresql://postgres@127.0.0.1:5432:99/test")
    with pytest.raises(StoreUnavailableError, match=r'invalid integer value "5432:99"'):
        await cp.setup()


def test_postgres_text_that_is_no_dsn_is_refused_at_construction() -> None:
    with pytest.raises(CheckpointUsageError, match=r"not a PostgreSQL connection string"):
        PostgresCheckpointer("localhost 5432 test")


async def test_sqlite_path_in_missing_directories_creates_them(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "threads.db"
    async with SQLiteCheckpointer(path) as cp:
        await cp.acquire("t", "w1", lease_seconds=30)
        await cp.put("t", "w1", changes={"a": 1}, status="done", run={}, pending=[], graph="g")
    assert path.is_file()


async def test_sqlite_directory_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cp = SQLiteCheckpointer(blocker / "sub" / "threads.db")
    with pytest.raises(StoreUnavailableError, match=rf"directory '{blocker / 'sub'}'"):
        await cp.setup()
    await cp.aclose()


async def test_sqlite_path_that_is_a_directory_is_named(tmp_path: Path) -> None:
    cp = SQLiteCheckpointer(tmp_path)
    with pytest.raises(StoreUnavailableError, match=rf"SQLite database '{tmp_path}'"):
        await cp.setup()
    await cp.aclose()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
async def test_sqlite_directory_without_permission_is_named(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        cp = SQLiteCheckpointer(locked / "sub" / "threads.db")
        with pytest.raises(StoreUnavailableError, match=r"Permission denied"):
            await cp.setup()
        await cp.aclose()
    finally:
        locked.chmod(0o700)
