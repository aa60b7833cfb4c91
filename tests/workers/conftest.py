"""Fixtures for the worker tests: a store URL per backend, isolated per test."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

POSTGRES_DSN = os.environ.get(
    "LOCUS_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LOCUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _missing(reason: str) -> None:
    if os.environ.get("LOCUS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(params=["sqlite", "postgres", "redis"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A store URL of each backend in turn, on a store of the test's own."""
    async with _store(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
async def live_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A store URL of each backend that can tell a dead worker at once."""
    async with _store(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def pg_url(tmp_path: Path) -> AsyncIterator[str]:
    """A PostgreSQL store URL on a schema of the test's own."""
    async with _store("postgres", tmp_path) as url:
        yield url


@pytest.fixture
async def redis_url(tmp_path: Path) -> AsyncIterator[str]:
    """A Redis store URL under a key prefix of the test's own."""
    async with _store("redis", tmp_path) as url:
        yield url


@contextlib.asynccontextmanager
async def _store(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/desk.db"
        return
    if kind == "postgres":
        import psycopg

        schema = f"locus_wtest_{uuid.uuid4().hex[:10]}"
        try:
            conn = await psycopg.AsyncConnection.connect(
                POSTGRES_DSN, autocommit=True, connect_timeout=5
            )
        except psycopg.OperationalError as exc:
            _missing(f"PostgreSQL not reachable at {POSTGRES_DSN}: {exc}")
        sep = "&" if "?" in POSTGRES_DSN else "?"
        try:
            yield f"{POSTGRES_DSN}{sep}schema={schema}"
        finally:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await conn.close()
        return
    import redis.asyncio as aredis
    from redis.exceptions import RedisError

    prefix = f"locus-wtest:{uuid.uuid4().hex[:10]}:"
    client = aredis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        await client.ping()
    except RedisError as exc:
        await client.aclose()
        _missing(f"Redis not reachable at {REDIS_URL}: {exc}")
    sep = "&" if "?" in REDIS_URL else "?"
    try:
        yield f"{REDIS_URL}{sep}prefix={prefix}"
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
