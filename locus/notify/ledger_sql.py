"""The notification ledger in SQLite and PostgreSQL: three small tables beside the threads."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from locus.notify.ledger import Delivery, Ledger

if TYPE_CHECKING:
    from locus.checkpoint.postgres import PostgresCheckpointer
    from locus.checkpoint.sqlite import SQLiteCheckpointer

__all__ = ["PostgresLedger", "SQLiteLedger"]

_TABLES = (
    """CREATE TABLE IF NOT EXISTS {s}locus_notify_cursor (
        notifier TEXT PRIMARY KEY, position BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS {s}locus_notify_delivery (
        notifier TEXT NOT NULL, key TEXT NOT NULL, status TEXT NOT NULL,
        due_at DOUBLE PRECISION NOT NULL, record TEXT NOT NULL,
        PRIMARY KEY (notifier, key))""",
    """CREATE INDEX IF NOT EXISTS locus_notify_due
        ON {s}locus_notify_delivery (notifier, status, due_at)""",
    """CREATE TABLE IF NOT EXISTS {s}locus_notify_used (
        link_id TEXT PRIMARY KEY, expires_at DOUBLE PRECISION NOT NULL)""",
)


class SQLiteLedger(Ledger):
    """The ledger in a ``SQLiteCheckpointer``'s database file, written on its write thread."""

    def __init__(self, checkpointer: SQLiteCheckpointer) -> None:
        self._cp = checkpointer
        self._ready = False

    async def _tables(self) -> None:
        if self._ready:
            return

        def create(con: sqlite3.Connection) -> None:
            for statement in _TABLES:
                con.execute(statement.format(s=""))

        await self._cp.setup()
        await self._cp._write("create the notification tables", True, create)
        self._ready = True

    async def cursor(self, notifier: str) -> int:
        await self._tables()
        row = await self._cp._call(
            "read a notification cursor",
            lambda con: con.execute(
                "SELECT position FROM locus_notify_cursor WHERE notifier = ?", (notifier,)
            ).fetchone(),
        )
        return int(row[0]) if row else 0

    async def schedule(self, notifier: str, position: int, deliveries: Sequence[Delivery]) -> None:
        await self._tables()

        def write(con: sqlite3.Connection) -> None:
            con.executemany(
                "INSERT OR IGNORE INTO locus_notify_delivery VALUES (?, ?, ?, ?, ?)",
                [(notifier, d.key, d.status, d.due_at, d.to_json()) for d in deliveries],
            )
            con.execute(
                "INSERT INTO locus_notify_cursor VALUES (?, ?) ON CONFLICT (notifier) "
                "DO UPDATE SET position = max(position, excluded.position)",
                (notifier, position),
            )

        await self._cp._write("schedule notifications", True, write)

    async def due(self, notifier: str, now: float, limit: int = 50) -> list[Delivery]:
        await self._tables()
        rows = await self._cp._call(
            "read due notifications",
            lambda con: con.execute(
                "SELECT record FROM locus_notify_delivery WHERE notifier = ? AND "
                "status = 'pending' AND due_at <= ? ORDER BY due_at LIMIT ?",
                (notifier, now, limit),
            ).fetchall(),
        )
        return [Delivery.from_json(r[0]) for r in rows]

    async def settle(self, delivery: Delivery) -> None:
        await self._tables()
        await self._cp._write(
            "record a notification attempt",
            True,
            lambda con: con.execute(
                "UPDATE locus_notify_delivery SET status = ?, due_at = ?, record = ? "
                "WHERE notifier = ? AND key = ?",
                (
                    delivery.status,
                    delivery.due_at,
                    delivery.to_json(),
                    delivery.notifier,
                    delivery.key,
                ),
            ),
        )

    async def deliveries(self, notifier: str) -> list[Delivery]:
        await self._tables()
        rows = await self._cp._call(
            "read notifications",
            lambda con: con.execute(
                "SELECT record FROM locus_notify_delivery WHERE notifier = ? ORDER BY due_at",
                (notifier,),
            ).fetchall(),
        )
        return [Delivery.from_json(r[0]) for r in rows]

    async def use_once(self, link_id: str, expires_at: float) -> bool:
        await self._tables()

        def use(con: sqlite3.Connection) -> bool:
            con.execute("DELETE FROM locus_notify_used WHERE expires_at < ?", (time.time(),))
            cur = con.execute(
                "INSERT OR IGNORE INTO locus_notify_used VALUES (?, ?)", (link_id, expires_at)
            )
            return cur.rowcount == 1

        used: bool = await self._cp._write("use a signed link", True, use)
        return used


class PostgresLedger(Ledger):
    """The ledger in a ``PostgresCheckpointer``'s schema."""

    def __init__(self, checkpointer: PostgresCheckpointer) -> None:
        self._cp = checkpointer
        self._s = f'"{checkpointer.schema}".'
        self._ready = False

    async def _exec(self, what: str, sql: str, params: Any = ()) -> list[Any]:
        await self._tables()

        async def run(conn: Any) -> list[Any]:
            cur = await conn.execute(sql.format(s=self._s), params)
            return list(await cur.fetchall()) if cur.description else []

        result: list[Any] = await self._cp._run(what, run)
        return result

    async def _tables(self) -> None:
        if self._ready:
            return
        await self._cp.setup()

        async def create(conn: Any) -> None:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(7170420632)")
                for statement in _TABLES:
                    await conn.execute(statement.format(s=self._s))

        await self._cp._run("create the notification tables", create)
        self._ready = True

    async def cursor(self, notifier: str) -> int:
        rows = await self._exec(
            "read a notification cursor",
            "SELECT position FROM {s}locus_notify_cursor WHERE notifier = %s",
            (notifier,),
        )
        return int(rows[0][0]) if rows else 0

    async def schedule(self, notifier: str, position: int, deliveries: Sequence[Delivery]) -> None:
        await self._tables()

        async def write(conn: Any) -> None:
            async with conn.transaction(), conn.cursor() as cur:
                if deliveries:
                    await cur.executemany(
                        f"INSERT INTO {self._s}locus_notify_delivery VALUES "
                        "(%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        [(notifier, d.key, d.status, d.due_at, d.to_json()) for d in deliveries],
                    )
                await cur.execute(
                    f"INSERT INTO {self._s}locus_notify_cursor VALUES (%s, %s) "
                    "ON CONFLICT (notifier) DO UPDATE SET position = "
                    f"greatest({self._s}locus_notify_cursor.position, excluded.position)",
                    (notifier, position),
                )

        await self._cp._run("schedule notifications", write)

    async def due(self, notifier: str, now: float, limit: int = 50) -> list[Delivery]:
        rows = await self._exec(
            "read due notifications",
            "SELECT record FROM {s}locus_notify_delivery WHERE notifier = %s AND "
            "status = 'pending' AND due_at <= %s ORDER BY due_at LIMIT %s",
            (notifier, now, limit),
        )
        return [Delivery.from_json(r[0]) for r in rows]

    async def settle(self, delivery: Delivery) -> None:
        await self._exec(
            "record a notification attempt",
            "UPDATE {s}locus_notify_delivery SET status = %s, due_at = %s, record = %s "
            "WHERE notifier = %s AND key = %s",
            (delivery.status, delivery.due_at, delivery.to_json(), delivery.notifier, delivery.key),
        )

    async def deliveries(self, notifier: str) -> list[Delivery]:
        rows = await self._exec(
            "read notifications",
            "SELECT record FROM {s}locus_notify_delivery WHERE notifier = %s ORDER BY due_at",
            (notifier,),
        )
        return [Delivery.from_json(r[0]) for r in rows]

    async def use_once(self, link_id: str, expires_at: float) -> bool:
        await self._exec(
            "forget expired links",
            "DELETE FROM {s}locus_notify_used WHERE expires_at < %s",
            (time.time(),),
        )
        rows = await self._exec(
            "use a signed link",
            "INSERT INTO {s}locus_notify_used VALUES (%s, %s) ON CONFLICT DO NOTHING "
            "RETURNING link_id",
            (link_id, expires_at),
        )
        return bool(rows)
