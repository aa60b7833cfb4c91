"""SQLite writes wait for another process's write lock, up to ``busy_timeout``.

The lock is held by a real second process (``BEGIN IMMEDIATE`` on the same file). A write
made meanwhile goes through once that process commits; one that would wait past
``busy_timeout`` fails with a ``CheckpointError`` naming the file, and the store works
again as soon as the lock is gone.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from locus.checkpoint import SQLiteCheckpointer
from locus.errors import CheckpointError

HOLD = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
released = time.time()
con.execute("COMMIT")
print(released, flush=True)
"""


async def hold_write_lock(path: Path, seconds: float) -> asyncio.subprocess.Process:
    """A process holding the file's write lock for ``seconds`` (returns once it holds it)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD, str(path), str(seconds), stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    assert (await proc.stdout.readline()).strip() == b"held"
    return proc


async def test_a_write_waits_for_another_process_to_release_the_write_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "threads.db"
    async with SQLiteCheckpointer(path) as cp:
        holder = await hold_write_lock(path, 0.4)
        await cp.acquire("t1", "me", lease_seconds=30)
        done = time.time()
        out, _ = await holder.communicate()
        assert done >= float(out.strip())  # the lease was taken after the holder let go
        assert await cp.release("t1", "me")


async def test_a_write_that_would_wait_past_busy_timeout_fails_and_nothing_stays_locked(
    tmp_path: Path,
) -> None:
    path = tmp_path / "threads.db"
    async with SQLiteCheckpointer(path, busy_timeout=0.3) as cp:
        await cp.setup()
        holder = await hold_write_lock(path, 5.0)
        try:
            started = time.monotonic()
            with pytest.raises(CheckpointError, match=r"acquire a lease.*threads\.db.*locked"):
                await cp.acquire("t1", "me", lease_seconds=30)
            assert 0.3 <= time.monotonic() - started < 5.0
        finally:
            holder.kill()
            await holder.wait()
        # the lock died with its process: the same store writes again at once
        assert await cp.acquire("t1", "me", lease_seconds=30) is None
        assert await cp.release("t1", "me")
