"""``SQLiteCheckpointer``: the embedded default. One file, no server, safe across processes.

SQLite calls never run on the event loop: writes go to one write thread (see
``sqlite_writer``: group commit of whatever is queued), reads to one read thread with its
own connection (WAL lets it read while the writer writes). Writers take the database lock
up front (``BEGIN IMMEDIATE``), so a lease check and the write it guards are one
transaction, also across processes sharing the file.

Durability: WAL journal. A batch holding a checkpoint write commits with
``synchronous=FULL`` (the WAL is fsynced, so a returned ``put`` survives a power cut).
Batches of lease operations only (acquire, renew, release) commit with ``NORMAL``: they
survive any process crash, and the next FULL commit fsyncs them too. A power cut can roll
back a lease change, which is safe: ``put`` checks the lease in its own durable
transaction, so a worker whose lease was lost can no longer write.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from locus.checkpoint import liveness
from locus.checkpoint.audit import AuditRow, chain_fields
from locus.checkpoint.base import Checkpointer, lease_conflict
from locus.checkpoint.records import EncodedPut, RawCheckpoint, RawPending
from locus.checkpoint.sqlite_writer import WriteThread
from locus.errors import CheckpointError, SchemaVersionError, StoreUnavailableError

__all__ = ["SQLiteCheckpointer"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS locus_threads (
    thread_id TEXT PRIMARY KEY,
    latest_seq INTEGER NOT NULL DEFAULT 0,
    expires_at REAL,
    lease_owner TEXT,
    lease_expires REAL NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS locus_threads_expiry ON locus_threads (expires_at)
    WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS locus_checkpoints (
    thread_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    created_at REAL NOT NULL,
    status TEXT NOT NULL,
    graph TEXT NOT NULL,
    manifest TEXT NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (thread_id, seq)
);
CREATE TABLE IF NOT EXISTS locus_blobs (
    thread_id TEXT NOT NULL,
    key TEXT NOT NULL,
    version INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (thread_id, key, version)
);
CREATE TABLE IF NOT EXISTS locus_pending (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    graph TEXT NOT NULL,
    node TEXT NOT NULL,
    interrupt_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS locus_pending_thread ON locus_pending (thread_id);
"""

# Version 2: the audit trail (hash-chained per thread, ``position`` orders the feed), the
# ready marks of threads with a stored complete answer, and finding an inbox row by id.
_SCHEMA_V2 = """
CREATE TABLE IF NOT EXISTS locus_audit (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (thread_id, seq)
);
CREATE TABLE IF NOT EXISTS locus_ready (
    thread_id TEXT PRIMARY KEY,
    graph TEXT NOT NULL,
    at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS locus_ready_graph ON locus_ready (graph, at);
CREATE INDEX IF NOT EXISTS locus_pending_interrupt ON locus_pending (interrupt_id);
"""

#: ordered schema steps: a database at version n gets every later step, in order, once
MIGRATIONS: tuple[tuple[int, str], ...] = ((1, _SCHEMA), (2, _SCHEMA_V2))
SCHEMA_VERSION = MIGRATIONS[-1][0]


def _migrate(con: sqlite3.Connection, path: str) -> None:
    """Bring the database to ``SCHEMA_VERSION``, in one transaction, whoever gets there first.

    A database written before versions were recorded (the first release) has the
    version-1 tables and no ``locus_schema`` row: it counts as version 0, and step 1 is a
    no-op for it (every statement is ``IF NOT EXISTS``).

    Raises:
        SchemaVersionError: the database was migrated by a newer release.
    """
    con.execute("CREATE TABLE IF NOT EXISTS locus_schema (version INTEGER NOT NULL)")
    if _version(con) == SCHEMA_VERSION:
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        current = _version(con)
        if current > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the SQLite database {path!r} has schema version {current}; this release of "
                f"locus reads up to version {SCHEMA_VERSION}. Upgrade locus to open it"
            )
        for version, script in MIGRATIONS:
            if version > current:
                for statement in script.split(";"):
                    if statement.strip():
                        con.execute(statement)
        con.execute("DELETE FROM locus_schema")
        con.execute("INSERT INTO locus_schema (version) VALUES (?)", (SCHEMA_VERSION,))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _version(con: sqlite3.Connection) -> int:
    row = con.execute("SELECT max(version) FROM locus_schema").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _make_parent(path: str) -> None:
    """Create the directories above the database file that do not exist yet.

    Raises:
        StoreUnavailableError: naming the directory that cannot be created, and why.
    """
    if path in ("", ":memory:"):
        return
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(parent):
        return
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise StoreUnavailableError(
            f"cannot create the directory {parent!r} for the SQLite database {path!r}: "
            f"{exc.strerror or exc}"
        ) from exc


_BLOBS_FOR = """
SELECT j.key, b.data FROM json_each(?) AS j
LEFT JOIN locus_blobs AS b ON b.thread_id = ? AND b.key = j.key AND b.version = j.value
"""


class SQLiteCheckpointer(Checkpointer):
    """Stores threads in one SQLite file (created if missing), shared safely by processes.

    Args:
        path: the database file. It is created on first use, and so are missing parent
            directories (``SQLiteCheckpointer(".locus/threads.db")`` just works).
        ttl_seconds: see ``Checkpointer``.
        synchronous: the durability of checkpoint writes: ``"FULL"`` (default, survives
            power loss) or ``"NORMAL"`` (survives process crashes; a power cut may lose
            the last writes, never corrupts).
        busy_timeout: seconds to wait for another process's write lock before failing.
        types: see ``Checkpointer``.

    Raises:
        StoreUnavailableError: (on first use) the file, or a missing parent directory,
            cannot be created or opened; the message names which.
        CheckpointError: (from any method) the file stays locked by another process longer
            than ``busy_timeout``, or SQLite fails.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        ttl_seconds: float | None = None,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout: float = 30.0,
        types: Iterable[type] = (),
    ) -> None:
        super().__init__(ttl_seconds=ttl_seconds, types=types)
        self.path = os.fspath(path)
        self._synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._executor: ThreadPoolExecutor | None = None
        self._con: sqlite3.Connection | None = None
        self._writer: WriteThread | None = None

    # --- plumbing ----------------------------------------------------------------------

    async def _call(self, what: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the read thread."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="locus-sqlite-read")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._guarded, what, fn)

    async def _write(self, what: str, durable: bool, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a write transaction on the write thread (see the module doc)."""
        if self._writer is None:
            self._writer = WriteThread(
                self._connect, self._synchronous, self.path, self._busy_timeout
            )
        result: T = await self._writer.run(what, durable, fn)
        return result

    def _guarded(self, what: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            if self._con is None:
                self._con = self._connect()
            return fn(self._con)
        except sqlite3.Error as exc:
            raise CheckpointError(f"SQLite failed to {what} ({self.path}): {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        _make_parent(self.path)
        try:
            con = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(
                f"cannot open the SQLite database {self.path!r}: {exc} (is it a directory, "
                "or a file this process may not read and write?)"
            ) from exc
        try:
            _migrate(con, self.path)
        except BaseException:
            con.close()
            raise
        return con

    def _read(self, con: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one read transaction, so it sees a single consistent snapshot."""
        con.execute("BEGIN")
        try:
            return fn(con)
        finally:
            con.execute("COMMIT")

    async def _setup(self) -> None:
        await self._call("create the schema", lambda con: None)

    async def _close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.stop()
        if self._executor is None:
            return
        con, self._con = self._con, None
        if con is not None:
            await self._call("close", lambda _: con.close())
        self._executor.shutdown(wait=True)
        self._executor = None

    # --- leases ------------------------------------------------------------------------

    async def _acquire(
        self, thread_id: str, owner: str, lease_seconds: float, now: float
    ) -> RawCheckpoint | None:
        def acquire(con: sqlite3.Connection) -> RawCheckpoint | None:
            row = con.execute(
                "SELECT latest_seq, expires_at, lease_owner, lease_expires "
                "FROM locus_threads WHERE thread_id = ?",
                (thread_id,),
            ).fetchone()
            if row is not None and _expired(row[1], now):
                _delete(con, thread_id)
                row = None
            if row is not None and row[2] not in (None, owner) and row[3] > now:
                raise lease_conflict(thread_id, owner, row[2])
            con.execute(
                "INSERT INTO locus_threads (thread_id, lease_owner, lease_expires) "
                "VALUES (?, ?, ?) ON CONFLICT (thread_id) DO UPDATE SET "
                "lease_owner = excluded.lease_owner, lease_expires = excluded.lease_expires",
                (thread_id, owner, now + lease_seconds),
            )
            return _load(con, thread_id, row[0]) if row is not None and row[0] else None

        return await self._write("acquire a lease", False, acquire)

    async def _renew(self, thread_id: str, owner: str, lease_seconds: float) -> bool:
        def renew(con: sqlite3.Connection) -> bool:
            now = time.time()
            cur = con.execute(
                "UPDATE locus_threads SET lease_expires = ? "
                "WHERE thread_id = ? AND lease_owner = ? AND lease_expires > ?",
                (now + lease_seconds, thread_id, owner, now),
            )
            return cur.rowcount == 1

        return await self._write("renew a lease", False, renew)

    async def _release(self, thread_id: str, owner: str) -> bool:
        def release(con: sqlite3.Connection) -> bool:
            cur = con.execute(
                "UPDATE locus_threads SET lease_owner = NULL, lease_expires = 0 "
                "WHERE thread_id = ? AND lease_owner = ?",
                (thread_id, owner),
            )
            return cur.rowcount == 1

        return await self._write("release a lease", False, release)

    async def _take_over(
        self, thread_id: str, owner: str, lease_seconds: float
    ) -> tuple[bool, RawCheckpoint | None]:
        directory = liveness.lock_dir(self.path)

        def take_over(con: sqlite3.Connection) -> tuple[bool, RawCheckpoint | None]:
            now = time.time()
            row = con.execute(
                "SELECT latest_seq, lease_owner, lease_expires FROM locus_threads "
                "WHERE thread_id = ?",
                (thread_id,),
            ).fetchone()
            mark = liveness.mark_of(row[1]) if row is not None else None
            if mark is None or row[2] <= now or not liveness.flock_dead(directory, mark):
                return False, None  # free or expired (acquire raced), or held by the living
            con.execute(
                "UPDATE locus_threads SET lease_owner = ?, lease_expires = ? "
                "WHERE thread_id = ? AND lease_owner = ?",
                (owner, now + lease_seconds, thread_id, row[1]),
            )
            return True, (_load(con, thread_id, row[0]) if row[0] else None)

        if self.path in ("", ":memory:"):
            return False, None
        return await self._write("take over a dead worker's lease", False, take_over)

    # --- writing -----------------------------------------------------------------------

    async def _put(self, thread_id: str, owner: str, put: EncodedPut) -> int | None:
        def write(con: sqlite3.Connection) -> int | None:
            now = time.time()
            row = con.execute(
                "SELECT latest_seq FROM locus_threads WHERE thread_id = ? AND lease_owner = ? "
                "AND lease_expires > ? AND (expires_at IS NULL OR expires_at > ?)",
                (thread_id, owner, now, now),
            ).fetchone()
            if row is None:
                return None
            latest = row[0]
            seq = int(latest) + 1
            manifest: dict[str, int] = {}
            if latest:
                (text,) = con.execute(
                    "SELECT manifest FROM locus_checkpoints WHERE thread_id = ? AND seq = ?",
                    (thread_id, latest),
                ).fetchone()
                manifest = json.loads(text)
            for key in put.blobs:
                manifest[key] = seq
            con.executemany(
                "INSERT INTO locus_blobs (thread_id, key, version, data) VALUES (?, ?, ?, ?)",
                [(thread_id, key, seq, data) for key, data in put.blobs.items()],
            )
            con.execute(
                "INSERT INTO locus_checkpoints "
                "(thread_id, seq, created_at, status, graph, manifest, record) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    thread_id,
                    seq,
                    put.created_at,
                    put.status,
                    put.graph,
                    json.dumps(manifest),
                    put.record,
                ),
            )
            con.execute(
                "UPDATE locus_threads SET latest_seq = ?, expires_at = ?, "
                "lease_owner = iif(?, NULL, lease_owner), lease_expires = iif(?, 0, lease_expires) "
                "WHERE thread_id = ?",
                (seq, put.expires_at, put.release, put.release, thread_id),
            )
            con.execute("DELETE FROM locus_pending WHERE thread_id = ?", (thread_id,))
            if put.clear_ready:
                con.execute("DELETE FROM locus_ready WHERE thread_id = ?", (thread_id,))
            if put.audit:
                con.executemany(
                    _INSERT_AUDIT, chain_fields(thread_id, *_head(con, thread_id), put.audit)
                )
            # Inserted last-to-first: positions grow, and the first interrupt lists first.
            con.executemany(
                "INSERT INTO locus_pending "
                "(thread_id, seq, graph, node, interrupt_id, created_at, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (thread_id, seq, put.graph, p.node, p.interrupt_id, put.created_at, p.payload)
                    for p in reversed(put.pending)
                ],
            )
            return seq

        return await self._write("write a checkpoint", True, write)

    # --- reading -----------------------------------------------------------------------

    async def _get(self, thread_id: str, seq: int | None, now: float) -> RawCheckpoint | None:
        def get(con: sqlite3.Connection) -> RawCheckpoint | None:
            latest = _latest(con, thread_id, now)
            if not latest:
                return None
            return _load(con, thread_id, latest if seq is None else seq)

        return await self._call("read a checkpoint", lambda con: self._read(con, get))

    async def _history(self, thread_id: str, limit: int | None, now: float) -> list[RawCheckpoint]:
        def history(con: sqlite3.Connection) -> list[RawCheckpoint]:
            if not _latest(con, thread_id, now):
                return []
            rows = con.execute(
                "SELECT seq, created_at, status, graph, manifest, record FROM locus_checkpoints "
                "WHERE thread_id = ? ORDER BY seq DESC LIMIT ?",
                (thread_id, -1 if limit is None else limit),
            ).fetchall()
            return [_with_blobs(con, thread_id, row) for row in rows]

        return await self._call("read a history", lambda con: self._read(con, history))

    async def _list_pending(self, limit: int, before: int | None) -> list[RawPending]:
        def list_pending(con: sqlite3.Connection) -> list[RawPending]:
            rows = con.execute(
                "SELECT position, thread_id, graph, node, interrupt_id, payload, created_at, seq "
                "FROM locus_pending WHERE position < ? ORDER BY position DESC LIMIT ?",
                (2**63 - 1 if before is None else before, limit),
            ).fetchall()
            return [RawPending(*row) for row in rows]

        return await self._call("list pending interrupts", list_pending)

    async def _find_pending(self, interrupt_id: str) -> RawPending | None:
        def find(con: sqlite3.Connection) -> RawPending | None:
            row = con.execute(
                "SELECT position, thread_id, graph, node, interrupt_id, payload, created_at, seq "
                "FROM locus_pending WHERE interrupt_id = ? ORDER BY position DESC LIMIT 1",
                (interrupt_id,),
            ).fetchone()
            return None if row is None else RawPending(*row)

        return await self._call("find a pending interrupt", find)

    # --- the audit trail -----------------------------------------------------------------

    async def _append_audit(
        self,
        thread_id: str,
        rows: list[AuditRow],
        checkpoint: int,
        ready_graph: str | None,
        now: float,
    ) -> bool:
        def append(con: sqlite3.Connection) -> bool:
            found = con.execute(
                "SELECT latest_seq, expires_at, lease_owner, lease_expires "
                "FROM locus_threads WHERE thread_id = ?",
                (thread_id,),
            ).fetchone()
            if found is None or found[0] != checkpoint or _expired(found[1], now):
                return False
            if found[2] is not None and found[3] > now:
                return False
            if _head(con, thread_id)[0] != rows[0].seq - 1:
                return False
            _insert_audit(con, rows)
            if ready_graph is not None:
                con.execute(
                    "INSERT OR IGNORE INTO locus_ready (thread_id, graph, at) VALUES (?, ?, ?)",
                    (thread_id, ready_graph, now),
                )
            return True

        return await self._write("append to the audit trail", True, append)

    async def _read_audit(self, thread_id: str) -> list[AuditRow]:
        def read(con: sqlite3.Connection) -> list[AuditRow]:
            rows = con.execute(
                "SELECT thread_id, seq, body, prev_hash, hash, position FROM locus_audit "
                "WHERE thread_id = ? ORDER BY seq",
                (thread_id,),
            ).fetchall()
            return [AuditRow(*row) for row in rows]

        return await self._call("read the audit trail", read)

    async def _audit_feed(self, after: int, limit: int) -> list[AuditRow]:
        def feed(con: sqlite3.Connection) -> list[AuditRow]:
            rows = con.execute(
                "SELECT thread_id, seq, body, prev_hash, hash, position FROM locus_audit "
                "WHERE position > ? ORDER BY position LIMIT ?",
                (after, limit),
            ).fetchall()
            return [AuditRow(*row) for row in rows]

        return await self._call("read the audit feed", feed)

    async def _list_ready(self, graph: str | None, limit: int) -> list[str]:
        def ready(con: sqlite3.Connection) -> list[str]:
            if graph is None:
                rows = con.execute(
                    "SELECT thread_id FROM locus_ready ORDER BY at LIMIT ?", (limit,)
                )
            else:
                rows = con.execute(
                    "SELECT thread_id FROM locus_ready WHERE graph = ? ORDER BY at LIMIT ?",
                    (graph, limit),
                )
            return [row[0] for row in rows]

        return await self._call("list ready threads", ready)

    async def _ready_among(self, thread_ids: list[str]) -> set[str]:
        def among(con: sqlite3.Connection) -> set[str]:
            rows = con.execute(
                "SELECT thread_id FROM locus_ready WHERE thread_id IN "
                "(SELECT value FROM json_each(?))",
                (json.dumps(thread_ids),),
            )
            return {row[0] for row in rows}

        return await self._call("read ready marks", among)

    # --- retention ---------------------------------------------------------------------

    async def _delete_thread(self, thread_id: str) -> bool:
        return await self._write("delete a thread", True, lambda con: _delete(con, thread_id))

    async def _prune(self, thread_id: str, keep_last: int) -> int:
        def prune(con: sqlite3.Connection) -> int:
            kept = con.execute(
                "SELECT seq, manifest FROM locus_checkpoints WHERE thread_id = ? "
                "ORDER BY seq DESC LIMIT ?",
                (thread_id, keep_last),
            ).fetchall()
            if not kept:
                return 0
            oldest = kept[-1][0]
            needed = {(k, v) for _, text in kept for k, v in json.loads(text).items()}
            stale = [
                (thread_id, key, version)
                for key, version in con.execute(
                    "SELECT key, version FROM locus_blobs WHERE thread_id = ? AND version < ?",
                    (thread_id, oldest),
                )
                if (key, version) not in needed
            ]
            con.executemany(
                "DELETE FROM locus_blobs WHERE thread_id = ? AND key = ? AND version = ?", stale
            )
            return con.execute(
                "DELETE FROM locus_checkpoints WHERE thread_id = ? AND seq < ?",
                (thread_id, oldest),
            ).rowcount

        return await self._write("prune a thread", True, prune)

    async def _purge_expired(self, now: float) -> int:
        def purge(con: sqlite3.Connection) -> int:
            expired = con.execute(
                "SELECT thread_id FROM locus_threads WHERE expires_at <= ?", (now,)
            ).fetchall()
            for (thread_id,) in expired:
                _delete(con, thread_id)
            return len(expired)

        return await self._write("purge expired threads", True, purge)


# --- queries shared by the methods above ---------------------------------------------------


def _expired(expires_at: float | None, now: float) -> bool:
    return expires_at is not None and expires_at <= now


def _head(con: sqlite3.Connection, thread_id: str) -> tuple[int, str]:
    row = con.execute(
        "SELECT seq, hash FROM locus_audit WHERE thread_id = ? ORDER BY seq DESC LIMIT 1",
        (thread_id,),
    ).fetchone()
    return (0, "") if row is None else (int(row[0]), str(row[1]))


_INSERT_AUDIT = (
    "INSERT INTO locus_audit (thread_id, seq, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?)"
)


def _insert_audit(con: sqlite3.Connection, rows: list[AuditRow]) -> None:
    con.executemany(
        _INSERT_AUDIT, [(r.thread_id, r.seq, r.body, r.prev_hash, r.hash) for r in rows]
    )


def _latest(con: sqlite3.Connection, thread_id: str, now: float) -> int:
    row = con.execute(
        "SELECT latest_seq, expires_at FROM locus_threads WHERE thread_id = ?", (thread_id,)
    ).fetchone()
    if row is None or _expired(row[1], now):
        return 0
    return int(row[0])


def _load(con: sqlite3.Connection, thread_id: str, seq: int) -> RawCheckpoint | None:
    row = con.execute(
        "SELECT seq, created_at, status, graph, manifest, record FROM locus_checkpoints "
        "WHERE thread_id = ? AND seq = ?",
        (thread_id, seq),
    ).fetchone()
    return None if row is None else _with_blobs(con, thread_id, row)


def _with_blobs(con: sqlite3.Connection, thread_id: str, row: Any) -> RawCheckpoint:
    seq, created_at, status, graph, manifest, record = row
    blobs: dict[str, bytes | None] = dict(con.execute(_BLOBS_FOR, (manifest, thread_id)))
    return RawCheckpoint(seq, created_at, status, graph, record, blobs)


def _delete(con: sqlite3.Connection, thread_id: str) -> bool:
    found = con.execute("DELETE FROM locus_threads WHERE thread_id = ?", (thread_id,)).rowcount
    # the audit trail is kept: it records what happened even after the thread is gone
    for table in ("locus_checkpoints", "locus_blobs", "locus_pending", "locus_ready"):
        con.execute(f"DELETE FROM {table} WHERE thread_id = ?", (thread_id,))
    return found > 0
