"""The work queue in an SQLite file: several worker processes on one machine.

Claims are one write transaction (the database lock makes them exclusive across
processes). A worker's liveness mark is an ``flock`` on a file of its own, which the
kernel drops with the process: ``reap`` hands a dead worker's items back at once.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from locus.checkpoint import liveness
from locus.checkpoint.sqlite import SQLiteCheckpointer
from locus.workers.queue import COLUMNS, WorkItem, WorkQueue, WorkState, item_from_row

__all__ = ["SQLiteQueue"]

#: how often an idle worker looks for new work (SQLite cannot notify another process)
WAKE_SECONDS = 0.005

_SCHEMA = """
CREATE TABLE IF NOT EXISTS locus_work (
    thread_id TEXT PRIMARY KEY,
    graph TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL,
    token TEXT NOT NULL,
    priority INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    claimed_by TEXT,
    queued_at REAL NOT NULL,
    claims INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS locus_work_ready ON locus_work (graph, state, priority, queued_at);
"""


class SQLiteQueue(WorkQueue):
    """Work items in the ``locus_work`` table of an ``SQLiteCheckpointer``'s file."""

    has_liveness = True
    claims_ready = True

    def __init__(self, checkpointer: SQLiteCheckpointer) -> None:
        super().__init__(checkpointer)
        self.cp = checkpointer
        self._ready = False
        self._setup_lock = asyncio.Lock()
        self._mark: liveness.FileMark | None = None
        self._answers: bool | None = None
        self._answers_seen: tuple[Any, ...] = ()

    async def setup(self) -> None:
        await self.cp.setup()
        if self._ready:
            return
        async with self._setup_lock:
            if not self._ready:
                await self.cp._write("create the work queue", False, lambda c: _create(c))
                self._ready = True

    async def hold_mark(self) -> str:
        if self._mark is None:
            self._mark = liveness.FileMark(liveness.lock_dir(self.cp.path))
        return self._mark.mark

    async def drop_mark(self) -> None:
        mark, self._mark = self._mark, None
        if mark is not None:
            mark.release()

    async def enqueue(self, item: WorkItem) -> bool:
        await self.setup()

        def enqueue(con: sqlite3.Connection) -> bool:
            cur = con.execute(
                f"INSERT INTO locus_work ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,0) "
                "ON CONFLICT (thread_id) DO NOTHING",
                (
                    item.thread_id,
                    item.graph,
                    item.kind,
                    item.payload,
                    item.token,
                    item.priority,
                    "ready",
                    0,
                    None,
                    None,
                    item.queued_at,
                ),
            )
            return cur.rowcount == 1

        return await self.cp._write("submit a run", True, enqueue)

    async def replace(self, old: WorkItem, new: WorkItem) -> bool:
        def replace(con: sqlite3.Connection) -> bool:
            cur = con.execute(
                "UPDATE locus_work SET graph = ?, kind = ?, payload = ?, token = ?, "
                "priority = ?, state = 'ready', attempts = 0, error = NULL, claimed_by = NULL, "
                "queued_at = ? WHERE thread_id = ? AND token = ?",
                (
                    new.graph,
                    new.kind,
                    new.payload,
                    new.token,
                    new.priority,
                    new.queued_at,
                    old.thread_id,
                    old.token,
                ),
            )
            return cur.rowcount == 1

        return await self.cp._write("submit an answer", True, replace)

    async def claim(self, graphs: Sequence[str], mark: str, limit: int) -> list[WorkItem]:
        await self.setup()
        marks = ",".join("?" * len(graphs))

        def claim(con: sqlite3.Connection) -> list[WorkItem]:
            # answers first: they resume runs under way (see the PostgreSQL queue)
            answered = _claim_ready(con, graphs, mark, limit)
            rows = con.execute(
                f"SELECT {COLUMNS} FROM locus_work WHERE state = 'ready' "
                f"AND graph IN ({marks}) ORDER BY priority DESC, queued_at LIMIT ?",
                (*graphs, limit - len(answered)),
            ).fetchall()
            items = [item_from_row(row) for row in rows]
            for item in items:
                con.execute(
                    "UPDATE locus_work SET state = 'claimed', claimed_by = ?, claims = claims + 1 "
                    "WHERE thread_id = ?",
                    (mark, item.thread_id),
                )
                item.state, item.claimed_by, item.claims = "claimed", mark, item.claims + 1
            return answered + items

        return await self.cp._write("claim work", False, claim)

    async def finish(self, items: Sequence[WorkItem]) -> None:
        await self.cp._write(
            "finish work",
            False,
            lambda con: con.executemany(
                "DELETE FROM locus_work WHERE thread_id = ? AND token = ?",
                [(item.thread_id, item.token) for item in items],
            ),
        )

    async def fail(self, item: WorkItem, error: str) -> None:
        await self.cp._write(
            "record a failure",
            True,
            lambda con: con.execute(
                "UPDATE locus_work SET state = 'failed', error = ?, attempts = ?, "
                "claimed_by = NULL WHERE thread_id = ? AND token = ?",
                (error, item.attempts, item.thread_id, item.token),
            ),
        )

    async def unclaim(self, item: WorkItem) -> None:
        await self.cp._write(
            "hand work back",
            False,
            lambda con: con.execute(
                "UPDATE locus_work SET state = 'ready', claimed_by = NULL "
                "WHERE thread_id = ? AND token = ? AND state = 'claimed'",
                (item.thread_id, item.token),
            ),
        )

    async def retry(self, thread_id: str) -> bool:
        await self.setup()

        def retry(con: sqlite3.Connection) -> bool:
            cur = con.execute(
                "UPDATE locus_work SET state = 'ready', attempts = 0, error = NULL, "
                "queued_at = ? WHERE thread_id = ? AND state = 'failed'",
                (time.time(), thread_id),
            )
            return cur.rowcount == 1

        return await self.cp._write("retry a failed run", True, retry)

    async def reap(self, graphs: Sequence[str], mark: str) -> tuple[int, list[WorkItem]]:
        await self.setup()
        directory = liveness.lock_dir(self.cp.path)

        def reap(con: sqlite3.Connection) -> int:
            marks = [
                m
                for (m,) in con.execute(
                    "SELECT DISTINCT claimed_by FROM locus_work WHERE state = 'claimed'"
                ).fetchall()
            ]
            dead = [m for m in marks if m and liveness.flock_dead(directory, m)]
            count = 0
            for m in dead:
                count += con.execute(
                    "UPDATE locus_work SET state = 'ready', claimed_by = NULL "
                    "WHERE state = 'claimed' AND claimed_by = ?",
                    (m,),
                ).rowcount
            # a worker whose lease on the item's thread ran out unrenewed (stopped)
            count += con.execute(
                "UPDATE locus_work SET state = 'ready', claimed_by = NULL "
                "WHERE state = 'claimed' AND EXISTS (SELECT 1 FROM locus_threads AS t "
                "WHERE t.thread_id = locus_work.thread_id "
                "AND substr(t.lease_owner, 1, length(locus_work.claimed_by) + 1) "
                "= locus_work.claimed_by || '.' AND t.lease_expires <= ?)",
                (time.time(),),
            ).rowcount
            return count

        return await self.cp._write("hand back a dead worker's work", False, reap), []

    async def wait(self, graphs: Sequence[str], seconds: float) -> None:
        """Look for ready work every few milliseconds (a read: it never blocks writers)."""
        marks = ",".join("?" * len(graphs))
        sql = f"SELECT 1 FROM locus_work WHERE state = 'ready' AND graph IN ({marks}) LIMIT 1"
        # answers the inbox stored (its ready marks), where the store keeps them
        answers = f"SELECT count(*), max(at) FROM locus_ready WHERE graph IN ({marks})"

        def ready(con: sqlite3.Connection) -> bool:
            if con.execute(sql, tuple(graphs)).fetchone() is not None:
                return True
            if self._answers is None:
                found = con.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'locus_ready'"
                ).fetchone()
                self._answers = found is not None
            if not self._answers:
                return False
            seen = tuple(con.execute(answers, tuple(graphs)).fetchone())
            changed, self._answers_seen = seen != self._answers_seen, seen
            return changed and bool(seen[0])

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if await self.cp._call("look for work", ready):
                return
            await asyncio.sleep(WAKE_SECONDS)

    async def get(self, thread_id: str) -> WorkItem | None:
        await self.setup()

        def get(con: sqlite3.Connection) -> WorkItem | None:
            row = con.execute(
                f"SELECT {COLUMNS} FROM locus_work WHERE thread_id = ?", (thread_id,)
            ).fetchone()
            return None if row is None else item_from_row(row)

        return await self.cp._call("read a work item", get)

    async def items(
        self, state: WorkState | None = None, graph: str | None = None, limit: int = 100
    ) -> list[WorkItem]:
        await self.setup()

        def items(con: sqlite3.Connection) -> list[WorkItem]:
            rows = con.execute(
                f"SELECT {COLUMNS} FROM locus_work WHERE (? IS NULL OR state = ?) "
                "AND (? IS NULL OR graph = ?) ORDER BY queued_at LIMIT ?",
                (state, state, graph, graph, limit),
            ).fetchall()
            return [item_from_row(row) for row in rows]

        return await self.cp._call("list work items", items)


def _create(con: sqlite3.Connection) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            con.execute(statement)


def _claim_ready(
    con: sqlite3.Connection, graphs: Sequence[str], mark: str, limit: int
) -> list[WorkItem]:
    """Threads the inbox marked ready that have no item: stored as ``ready`` items claimed by
    ``mark`` (inside the claim's write transaction, so no other worker takes them)."""
    marks = ",".join("?" * len(graphs))
    found = con.execute(
        f"SELECT thread_id, graph, at FROM locus_ready AS m WHERE graph IN ({marks}) "
        "AND NOT EXISTS (SELECT 1 FROM locus_work AS o WHERE o.thread_id = m.thread_id) "
        "ORDER BY at LIMIT ?",
        (*graphs, limit),
    ).fetchall()
    prefix = f"answer-{os.urandom(6).hex()}-"
    items = [
        WorkItem(tid, graph, "ready", b"", prefix + tid, 0, "claimed", 0, None, mark, at, 1)
        for tid, graph, at in found
    ]
    con.executemany(
        f"INSERT INTO locus_work ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                i.thread_id,
                i.graph,
                i.kind,
                i.payload,
                i.token,
                0,
                i.state,
                0,
                None,
                mark,
                i.queued_at,
                1,
            )
            for i in items
        ],
    )
    return items
