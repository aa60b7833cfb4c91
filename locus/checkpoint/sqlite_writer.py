"""The SQLite write thread: one connection, and group commit of whatever is queued.

Writes from many coroutines queue up while the thread is busy; the thread then runs all
queued jobs in one ``BEGIN IMMEDIATE`` transaction, each inside its own savepoint (a job
that raises is rolled back alone), and commits once. One fsync then covers many writes,
which is what makes ``synchronous=FULL`` affordable. A job's future resolves only after
the commit, so a caller never sees a write that could still be lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from locus.errors import CheckpointError

__all__ = ["WriteThread"]

_MAX_BATCH = 256


@dataclass(slots=True)
class _Job:
    what: str
    fn: Callable[[sqlite3.Connection], Any]
    durable: bool
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class WriteThread:
    """Owns the writing connection of one ``SQLiteCheckpointer``.

    Args:
        connect: opens the connection (called on the thread).
        synchronous: the ``synchronous`` level of batches holding a durable job; other
            batches commit with ``NORMAL``.
        path: named in errors.
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        synchronous: str,
        path: str,
        busy_timeout: float = 30.0,
    ) -> None:
        self._connect = connect
        self._synchronous = synchronous
        self._path = path
        self._busy_timeout = busy_timeout
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name="locus-sqlite-writer", daemon=True)
        self._thread.start()

    async def run(self, what: str, durable: bool, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``fn`` in a write transaction and return its result once committed.

        Raises:
            Whatever ``fn`` raised (its writes rolled back), or ``CheckpointError`` when
            SQLite fails (the whole batch is then rolled back).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Job(what, fn, durable, loop, future))
        return await future

    async def stop(self) -> None:
        """Finish queued jobs, close the connection and end the thread."""
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    def _main(self) -> None:
        con: sqlite3.Connection | None = None
        sync_now = ""
        while True:
            job = self._queue.get()
            if job is None:
                break
            batch = [job]
            stop = False
            while len(batch) < _MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            try:
                if con is None:
                    con = self._connect()
                    # the write lock is waited for by _begin, in finer steps than SQLite's
                    con.execute("PRAGMA busy_timeout = 0")
                sync = self._synchronous if any(j.durable for j in batch) else "NORMAL"
                if sync != sync_now:
                    con.execute(f"PRAGMA synchronous={sync}")
                    sync_now = sync
                outcomes = self._run_batch(con, batch)
            except sqlite3.Error as exc:
                outcomes = [(None, self._error(j.what, exc)) for j in batch]
            except Exception as exc:  # never leave a caller waiting on a dead thread
                outcomes = [(None, exc) for _ in batch]
            for done, (result, failure) in zip(batch, outcomes, strict=True):
                # RuntimeError: the caller's event loop has closed, so nobody is waiting.
                with contextlib.suppress(RuntimeError):
                    done.loop.call_soon_threadsafe(_settle, done.future, result, failure)
            if stop:
                break
        if con is not None:
            con.close()

    def _run_batch(
        self, con: sqlite3.Connection, batch: list[_Job]
    ) -> list[tuple[Any, BaseException | None]]:
        outcomes: list[tuple[Any, BaseException | None]] = []
        self._begin(con)
        try:
            for job in batch:
                con.execute("SAVEPOINT job")
                try:
                    outcomes.append((job.fn(con), None))
                except sqlite3.Error as exc:
                    con.execute("ROLLBACK TO job")
                    outcomes.append((None, self._error(job.what, exc)))
                except Exception as exc:
                    con.execute("ROLLBACK TO job")
                    outcomes.append((None, exc))
                con.execute("RELEASE job")
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        return outcomes

    def _begin(self, con: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE``, waiting up to the busy timeout for another process's lock.

        SQLite's own busy handler sleeps 1, 2, 5, 10... ms between tries, so a writer
        waits milliseconds for a lock held a fraction of one; this tries every 0.1 ms at
        first, backing off to 2 ms.
        """
        deadline = time.monotonic() + self._busy_timeout
        pause = 0.0001
        while True:
            try:
                con.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 1.5, 0.002)

    def _error(self, what: str, exc: sqlite3.Error) -> CheckpointError:
        error = CheckpointError(f"SQLite failed to {what} ({self._path}): {exc}")
        error.__cause__ = exc
        return error


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
