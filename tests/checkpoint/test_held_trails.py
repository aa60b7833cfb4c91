"""What a lease holder notes of its thread's trail: only for that owner, forgotten with the
lease, and never trusted over the store (a stale head is read again)."""

from __future__ import annotations

import psycopg
from checkpoint_backends import POSTGRES_DSN

from locus.checkpoint import PostgresCheckpointer
from locus.checkpoint.audit import AuditDraft, AuditRow, chain, verify_chain
from locus.checkpoint.held import MAX_NOTES, HeldTrails

ROW = AuditRow("t", 1, "{}", "", "h1", 7)


def test_a_note_serves_only_the_owner_that_took_the_lease() -> None:
    held = HeldTrails()
    held.took("t", "ann", (1, "h1"), [ROW])
    assert held.head("t", "ann") == (1, "h1")
    assert held.trail("t", "ann") == [ROW]
    assert held.head("t", "bob") is None and held.trail("t", "bob") is None
    held.took("t", "bob", (1, "h1"))  # taken over: the old holder's note is gone
    assert held.head("t", "ann") is None
    assert held.trail("t", "bob") is None  # a head only, no trail was read


def test_a_write_moves_the_head_and_forgets_the_trail_and_a_release_forgets_all() -> None:
    held = HeldTrails()
    held.took("t", "ann", (1, "h1"), [ROW])
    held.wrote("t", "ann", (3, "h3"), released=False)
    assert held.head("t", "ann") == (3, "h3") and held.trail("t", "ann") is None
    held.wrote("t", "ann", None, released=False)  # a write with no audit entries
    assert held.head("t", "ann") == (3, "h3")
    held.wrote("t", "bob", (9, "h9"), released=True)  # not bob's note: unchanged
    assert held.head("t", "ann") == (3, "h3")
    held.wrote("t", "ann", (4, "h4"), released=True)
    assert held.head("t", "ann") is None


def test_notes_are_bounded() -> None:
    held = HeldTrails()
    for i in range(MAX_NOTES + 10):
        held.took(f"t{i}", "ann", (i, "h"))
    assert held.head("t0", "ann") is None
    assert held.head(f"t{MAX_NOTES + 9}", "ann") == (MAX_NOTES + 9, "h")


async def test_a_head_that_moved_behind_the_holders_back_is_read_again(pg_schema: str) -> None:
    async with PostgresCheckpointer(POSTGRES_DSN, schema=pg_schema) as cp:
        await cp.acquire("t", "ann", lease_seconds=30)  # notes the head: no entries yet
        # an entry appended out of band (not through the lease holder)
        [row] = chain("t", 0, "", [AuditDraft(kind="asked", at=1.0)])
        async with await psycopg.AsyncConnection.connect(POSTGRES_DSN, autocommit=True) as conn:
            await conn.execute(
                f'INSERT INTO "{pg_schema}".locus_audit (thread_id, seq, body, prev_hash, hash) '
                "VALUES (%s, %s, %s, %s, %s)",
                (row.thread_id, row.seq, row.body, row.prev_hash, row.hash),
            )
        finished = AuditDraft(kind="finished", at=2.0)
        await cp.put(
            "t", "ann", changes={}, status="done", run={}, pending=[], graph="g", audit=[finished]
        )
        trail = await cp.read_audit("t")
        assert [r.seq for r in trail] == [1, 2]
        assert verify_chain("t", trail).ok
