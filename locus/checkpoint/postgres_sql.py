"""The SQL behind ``PostgresCheckpointer``: each operation is one statement.

``{s}`` stands for the quoted schema; ``statements(schema)`` fills it in. Tables:
``locus_threads`` (latest seq, lease, expiry, latest manifest, last write id),
``locus_checkpoints`` (one row per checkpoint, with its manifest ``{state key: version}``),
``locus_blobs`` (one row per stored value version) and ``locus_pending`` (the inbox).
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "statements"]

_NOW = "extract(epoch FROM clock_timestamp())::float8"

# Lease statements commit without waiting for the WAL flush. Safe: every put checks the
# lease in its own durable transaction, so a lease change lost in a server crash can
# only make a put fail (or a lease linger until it expires), never let two owners write.
_LAZY_COMMIT = "(SELECT set_config('synchronous_commit', 'off', true)) AS lazy_commit"

_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.locus_threads (
    thread_id text PRIMARY KEY,
    latest_seq integer NOT NULL DEFAULT 0,
    expires_at double precision,
    lease_owner text,
    lease_expires double precision NOT NULL DEFAULT 0,
    manifest jsonb NOT NULL DEFAULT '{{}}',
    last_write text
);
CREATE INDEX IF NOT EXISTS locus_threads_expiry ON {s}.locus_threads (expires_at)
    WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS {s}.locus_checkpoints (
    thread_id text NOT NULL,
    seq integer NOT NULL,
    created_at double precision NOT NULL,
    status text NOT NULL,
    graph text NOT NULL,
    manifest jsonb NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (thread_id, seq)
);
CREATE TABLE IF NOT EXISTS {s}.locus_blobs (
    thread_id text NOT NULL,
    key text NOT NULL,
    version integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (thread_id, key, version)
);
CREATE TABLE IF NOT EXISTS {s}.locus_pending (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    thread_id text NOT NULL,
    seq integer NOT NULL,
    graph text NOT NULL,
    node text NOT NULL,
    interrupt_id text NOT NULL,
    created_at double precision NOT NULL,
    payload bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS locus_pending_thread ON {s}.locus_pending (thread_id);
"""

# Version 2: the audit trail (hash-chained per thread; ``position`` orders the feed), the
# ready marks of threads whose stored answers wait, and finding an inbox row by id.
_SCHEMA_V2 = """
CREATE TABLE IF NOT EXISTS {s}.locus_audit (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    thread_id text NOT NULL,
    seq integer NOT NULL,
    body text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    UNIQUE (thread_id, seq)
);
CREATE TABLE IF NOT EXISTS {s}.locus_ready (
    thread_id text PRIMARY KEY,
    graph text NOT NULL,
    at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS locus_ready_graph ON {s}.locus_ready (graph, at);
CREATE INDEX IF NOT EXISTS locus_pending_interrupt ON {s}.locus_pending (interrupt_id);
"""

# Version 3: audit positions are placed by feed readers (see _PLACE), so writers no longer
# serialize on a store-wide lock; ``id`` keeps the write order until then. ``audit_seq``: the
# trail's head as the last audited write under v3 left it (see _ACQUIRE).
_SCHEMA_V3 = """
ALTER TABLE {s}.locus_threads ADD COLUMN IF NOT EXISTS audit_seq integer NOT NULL DEFAULT 0;
ALTER TABLE {s}.locus_audit ADD COLUMN IF NOT EXISTS id bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE {s}.locus_audit DROP CONSTRAINT IF EXISTS locus_audit_pkey;
ALTER TABLE {s}.locus_audit ALTER COLUMN position DROP IDENTITY IF EXISTS;
ALTER TABLE {s}.locus_audit ALTER COLUMN position DROP NOT NULL;
ALTER TABLE {s}.locus_audit ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX IF NOT EXISTS locus_audit_position ON {s}.locus_audit (position);
CREATE INDEX IF NOT EXISTS locus_audit_unplaced ON {s}.locus_audit (id) WHERE position IS NULL
"""

_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS {s}.locus_schema (version integer NOT NULL)"

# The columns of a checkpoint ``c``, and the join that brings the documents of every
# state key it refers to (``m.keys[i]`` names ``m.datas[i]``; both NULL for no keys).
_CHECKPOINT = "c.seq, c.created_at, c.status, c.graph, c.record, m.keys, m.datas"
_BLOBS = """
LEFT JOIN LATERAL (
    SELECT array_agg(e.key) AS keys, array_agg(b.data) AS datas
    FROM jsonb_each_text(c.manifest) AS e
    LEFT JOIN {s}.locus_blobs AS b
    ON b.thread_id = c.thread_id AND b.key = e.key AND b.version = e.value::integer
) AS m ON true
"""

# A thread's audit entries ``h`` as one array per column, in ``seq`` order (NULLs for none).
_TRAIL_ARRAYS = ", ".join(
    f"array_agg(h.{column} ORDER BY h.seq) AS {alias}"
    for column, alias in (
        ("seq", "seqs"),
        ("body", "bodies"),
        ("prev_hash", "prevs"),
        ("hash", "hashes"),
        ("position", "positions"),
    )
)

# With the lease, the thread's trail as the statement's snapshot holds it: whole if the
# thread is paused (its stored answers), else only its head. The snapshot predates a write
# this statement waited for; every audited write sets ``audit_seq``, which RETURNING reads
# as that write left it, so a trail whose head is not ``audit_seq`` may be stale (the caller
# then reads the whole trail again: the lease is its own by then).
_ACQUIRE = f"""
WITH a AS (
    INSERT INTO {{s}}.locus_threads AS t (thread_id, lease_owner, lease_expires)
    VALUES (%(tid)b, %(owner)b, {_NOW} + %(lease)b)
    ON CONFLICT (thread_id) DO UPDATE
    SET lease_owner = excluded.lease_owner, lease_expires = excluded.lease_expires
    WHERE t.lease_owner IS NULL OR t.lease_owner = excluded.lease_owner
       OR t.lease_expires <= {_NOW}
    RETURNING t.latest_seq, t.expires_at, t.audit_seq
)
SELECT a.latest_seq, a.expires_at, a.audit_seq, {_CHECKPOINT},
    x.seqs, x.bodies, x.prevs, x.hashes, x.positions
FROM {_LAZY_COMMIT}, a LEFT JOIN {{s}}.locus_checkpoints AS c
ON c.thread_id = %(tid)b AND c.seq = a.latest_seq
{_BLOBS}
LEFT JOIN LATERAL (
    SELECT {_TRAIL_ARRAYS}
    FROM {{s}}.locus_audit AS h
    WHERE h.thread_id = %(tid)b AND (c.status = 'paused' OR h.seq = (
        SELECT max(m.seq) FROM {{s}}.locus_audit AS m WHERE m.thread_id = %(tid)b))
) AS x ON true
"""

_HOLDER = "SELECT lease_owner FROM {s}.locus_threads WHERE thread_id = %b"

_RESET_EXPIRED = """
WITH t AS (
    UPDATE {s}.locus_threads SET latest_seq = 0, expires_at = NULL, manifest = '{{}}'
    WHERE thread_id = %(tid)b AND expires_at <= %(now)b
    RETURNING thread_id
), c AS (
    DELETE FROM {s}.locus_checkpoints WHERE thread_id IN (SELECT thread_id FROM t)
), b AS (
    DELETE FROM {s}.locus_blobs WHERE thread_id IN (SELECT thread_id FROM t)
)
DELETE FROM {s}.locus_pending WHERE thread_id IN (SELECT thread_id FROM t)
"""

_RENEW = f"""
UPDATE {{s}}.locus_threads SET lease_expires = {_NOW} + %(lease)b
FROM {_LAZY_COMMIT}
WHERE thread_id = %(tid)b AND lease_owner = %(owner)b AND lease_expires > {_NOW}
"""

_RELEASE = f"""
UPDATE {{s}}.locus_threads SET lease_owner = NULL, lease_expires = 0
FROM {_LAZY_COMMIT}
WHERE thread_id = %b AND lease_owner = %b
"""

_PUT = f"""
WITH t AS (
    UPDATE {{s}}.locus_threads AS t
    SET latest_seq = t.latest_seq + 1, expires_at = %(expires_at)b, last_write = %(wid)b,
        audit_seq = coalesce(
            (%(seqs)b::integer[])[cardinality(%(seqs)b::integer[])], t.audit_seq),
        lease_owner = CASE WHEN %(release)b THEN NULL ELSE t.lease_owner END,
        lease_expires = CASE WHEN %(release)b THEN 0 ELSE t.lease_expires END,
        manifest = t.manifest || (
            SELECT coalesce(jsonb_object_agg(k, t.latest_seq + 1), jsonb_build_object())
            FROM unnest(%(keys)b::text[]) AS k)
    WHERE t.thread_id = %(tid)b AND t.lease_owner = %(owner)b AND t.lease_expires > {_NOW}
      AND (t.expires_at IS NULL OR t.expires_at > %(now)b)
      AND t.last_write IS DISTINCT FROM %(wid)b
      AND (cardinality(%(seqs)b::integer[]) = 0 OR %(head)b = coalesce(
          (SELECT max(a.seq) FROM {{s}}.locus_audit AS a WHERE a.thread_id = %(tid)b), 0))
    RETURNING t.latest_seq, t.manifest
), c AS (
    INSERT INTO {{s}}.locus_checkpoints
        (thread_id, seq, created_at, status, graph, manifest, record)
    SELECT %(tid)b, t.latest_seq, %(created_at)b, %(status)b, %(graph)b, t.manifest, %(record)b
    FROM t
), b AS (
    INSERT INTO {{s}}.locus_blobs (thread_id, key, version, data)
    SELECT %(tid)b, u.k, t.latest_seq, u.d
    FROM t, unnest(%(keys)b::text[], %(datas)b::bytea[]) AS u (k, d)
), d AS (
    DELETE FROM {{s}}.locus_pending WHERE thread_id = %(tid)b AND EXISTS (SELECT FROM t)
), p AS (
    INSERT INTO {{s}}.locus_pending
        (thread_id, seq, graph, node, interrupt_id, created_at, payload)
    SELECT %(tid)b, t.latest_seq, %(graph)b, u.n, u.i, %(created_at)b, u.p
    FROM t, unnest(%(nodes)b::text[], %(ids)b::text[], %(payloads)b::bytea[])
        WITH ORDINALITY AS u (n, i, p, o)
    ORDER BY u.o
), r AS (
    DELETE FROM {{s}}.locus_ready WHERE %(clear_ready)b AND thread_id = %(tid)b
        AND EXISTS (SELECT FROM t)
), a AS (
    INSERT INTO {{s}}.locus_audit (thread_id, seq, body, prev_hash, hash)
    SELECT %(tid)b, u.q, u.b, u.p, u.h
    FROM t, unnest(%(seqs)b::integer[], %(bodies)b::text[], %(prevs)b::text[],
        %(hashes)b::text[]) WITH ORDINALITY AS u (q, b, p, h, o)
    ORDER BY u.o
)
SELECT latest_seq FROM t
"""

_WRITTEN = "SELECT latest_seq FROM {s}.locus_threads WHERE thread_id = %b AND last_write = %b"

_GET = f"""
SELECT t.latest_seq, t.expires_at, {_CHECKPOINT}
FROM {{s}}.locus_threads AS t LEFT JOIN {{s}}.locus_checkpoints AS c
ON c.thread_id = t.thread_id AND c.seq = coalesce(%(seq)b, t.latest_seq)
{_BLOBS}
WHERE t.thread_id = %(tid)b
"""

_HISTORY = f"""
SELECT {_CHECKPOINT}
FROM {{s}}.locus_checkpoints AS c JOIN {{s}}.locus_threads AS t USING (thread_id)
{_BLOBS}
WHERE c.thread_id = %(tid)b
  AND NOT coalesce(t.expires_at <= %(now)b, false)
ORDER BY c.seq DESC LIMIT %(limit)b
"""

_LIST_PENDING = """
SELECT position, thread_id, graph, node, interrupt_id, payload, created_at, seq
FROM {s}.locus_pending WHERE position < %b ORDER BY position DESC LIMIT %b
"""

_FIND_PENDING = """
SELECT position, thread_id, graph, node, interrupt_id, payload, created_at, seq
FROM {s}.locus_pending WHERE interrupt_id = %b ORDER BY position DESC LIMIT 1
"""

_FIND_PENDING_WITH_TRAIL = f"""
SELECT p.position, p.thread_id, p.graph, p.node, p.interrupt_id, p.payload, p.created_at,
    p.seq, x.seqs, x.bodies, x.prevs, x.hashes, x.positions
FROM (
    SELECT * FROM {{s}}.locus_pending WHERE interrupt_id = %b ORDER BY position DESC LIMIT 1
) AS p
LEFT JOIN LATERAL (
    SELECT {_TRAIL_ARRAYS} FROM {{s}}.locus_audit AS h WHERE h.thread_id = p.thread_id
) AS x ON true
"""

# One statement: the checks (the pause still latest, no lease, the trail's head as read)
# and the writes. Two of them racing both pass the head check on their snapshots; the
# (thread_id, seq) key then refuses the second, which the caller reports as "changed".
_APPEND_AUDIT = f"""
WITH ok AS (
    UPDATE {{s}}.locus_threads AS t
    SET audit_seq = (%(seqs)b::integer[])[cardinality(%(seqs)b::integer[])]
    WHERE t.thread_id = %(tid)b AND t.latest_seq = %(checkpoint)b
      AND NOT (t.lease_owner IS NOT NULL AND t.lease_expires > {_NOW})
      AND (t.expires_at IS NULL OR t.expires_at > %(now)b)
      AND %(head)b = coalesce(
          (SELECT max(a.seq) FROM {{s}}.locus_audit AS a WHERE a.thread_id = %(tid)b), 0)
    RETURNING 1
), a AS (
    INSERT INTO {{s}}.locus_audit (thread_id, seq, body, prev_hash, hash)
    SELECT %(tid)b, u.q, u.b, u.p, u.h
    FROM ok, unnest(%(seqs)b::integer[], %(bodies)b::text[], %(prevs)b::text[],
        %(hashes)b::text[]) WITH ORDINALITY AS u (q, b, p, h, o)
    ORDER BY u.o
), r AS (
    INSERT INTO {{s}}.locus_ready (thread_id, graph, at)
    SELECT %(tid)b, %(graph)b, %(now)b FROM ok WHERE %(graph)b::text IS NOT NULL
    ON CONFLICT (thread_id) DO NOTHING
)
SELECT count(*) FROM ok
"""

_HEAD = """
SELECT seq, hash FROM {s}.locus_audit WHERE thread_id = %b ORDER BY seq DESC LIMIT 1
"""

# ``position`` is NULL until a feed reader places the entry (see _PLACE), read as 0.
_READ_AUDIT = """
SELECT thread_id, seq, body, prev_hash, hash, position FROM {s}.locus_audit
WHERE thread_id = %b ORDER BY seq
"""

# Feed positions are handed out in commit order, by readers, not writers: a feed read takes
# the store-wide placing lock (_PLACE_LOCK, its own statement so that the next one's
# snapshot sees every placement committed before the lock was granted), numbers every
# committed entry not yet placed after the highest position, in write order, and reads, all
# in one transaction. Writers take no store-wide lock, and a reader never sees a later
# position become visible before an earlier one, so ``position > after`` skips nothing.
_PLACE_LOCK = "SELECT pg_advisory_xact_lock(7170420634)"

_PLACE = """
WITH todo AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM {s}.locus_audit
    WHERE position IS NULL ORDER BY id LIMIT 100000
), top AS (
    SELECT coalesce(max(position), 0) AS p FROM {s}.locus_audit
)
UPDATE {s}.locus_audit AS a SET position = top.p + todo.n FROM todo, top WHERE a.id = todo.id
"""

_FEED = """
SELECT thread_id, seq, body, prev_hash, hash, position FROM {s}.locus_audit
WHERE position > %b ORDER BY position LIMIT %b
"""

_LIST_READY = """
SELECT thread_id FROM {s}.locus_ready WHERE %(graph)b::text IS NULL OR graph = %(graph)b
ORDER BY at LIMIT %(limit)b
"""

_READY_AMONG = "SELECT thread_id FROM {s}.locus_ready WHERE thread_id = ANY(%b::text[])"

_DELETE = """
WITH t AS (
    DELETE FROM {s}.locus_threads WHERE thread_id = %(tid)b RETURNING thread_id
), c AS (
    DELETE FROM {s}.locus_checkpoints WHERE thread_id = %(tid)b
), b AS (
    DELETE FROM {s}.locus_blobs WHERE thread_id = %(tid)b
), p AS (
    DELETE FROM {s}.locus_pending WHERE thread_id = %(tid)b
), r AS (
    DELETE FROM {s}.locus_ready WHERE thread_id = %(tid)b
)
SELECT count(*) FROM t
"""

_PURGE = """
WITH t AS (
    DELETE FROM {s}.locus_threads WHERE expires_at <= %(now)b
    RETURNING thread_id
), c AS (
    DELETE FROM {s}.locus_checkpoints WHERE thread_id IN (SELECT thread_id FROM t)
), b AS (
    DELETE FROM {s}.locus_blobs WHERE thread_id IN (SELECT thread_id FROM t)
), p AS (
    DELETE FROM {s}.locus_pending WHERE thread_id IN (SELECT thread_id FROM t)
)
SELECT count(*) FROM t
"""

_PRUNE = """
WITH kept AS (
    SELECT seq, manifest FROM {s}.locus_checkpoints
    WHERE thread_id = %(tid)b ORDER BY seq DESC LIMIT %(keep)b
), oldest AS (
    SELECT min(seq) AS seq FROM kept
), b AS (
    DELETE FROM {s}.locus_blobs AS b USING oldest
    WHERE b.thread_id = %(tid)b AND b.version < oldest.seq AND NOT EXISTS (
        SELECT FROM kept, jsonb_each_text(kept.manifest) AS e
        WHERE e.key = b.key AND e.value::integer = b.version)
), c AS (
    DELETE FROM {s}.locus_checkpoints AS c USING oldest
    WHERE c.thread_id = %(tid)b AND c.seq < oldest.seq
    RETURNING 1
)
SELECT count(*) FROM c
"""


def statements(schema: str) -> dict[str, str]:
    """Every statement by name, for the (already validated) ``schema``.

    ``NAME_batched`` is the text sent when ``NAME`` goes in a batch with other statements,
    where that differs: a lease statement commits lazily alone, but must not make the whole
    batch (puts among it) commit lazily.
    """
    quoted = f'"{schema}"'
    return {
        "acquire_batched": _ACQUIRE.replace(f"{_LAZY_COMMIT}, ", "").format(s=quoted),
        "schema": _SCHEMA.format(s=quoted),
        "acquire": _ACQUIRE.format(s=quoted),
        "holder": _HOLDER.format(s=quoted),
        "reset_expired": _RESET_EXPIRED.format(s=quoted),
        "renew": _RENEW.format(s=quoted),
        "release": _RELEASE.format(s=quoted),
        "put": _PUT.format(s=quoted),
        "written": _WRITTEN.format(s=quoted),
        "get": _GET.format(s=quoted),
        "history": _HISTORY.format(s=quoted),
        "list_pending": _LIST_PENDING.format(s=quoted),
        "delete": _DELETE.format(s=quoted),
        "purge": _PURGE.format(s=quoted),
        "prune": _PRUNE.format(s=quoted),
        "schema_v2": _SCHEMA_V2.format(s=quoted),
        "schema_v3": _SCHEMA_V3.format(s=quoted),
        "place_lock": _PLACE_LOCK,
        "place": _PLACE.format(s=quoted),
        "version_table": _VERSION_TABLE.format(s=quoted),
        "find_pending": _FIND_PENDING.format(s=quoted),
        "find_pending_with_trail": _FIND_PENDING_WITH_TRAIL.format(s=quoted),
        "append_audit": _APPEND_AUDIT.format(s=quoted),
        "head": _HEAD.format(s=quoted),
        "read_audit": _READ_AUDIT.format(s=quoted),
        "feed": _FEED.format(s=quoted),
        "list_ready": _LIST_READY.format(s=quoted),
        "ready_among": _READY_AMONG.format(s=quoted),
    }


#: ordered schema steps by name: a store at version n gets every later step, once, in order
MIGRATIONS: tuple[tuple[int, str], ...] = ((1, "schema"), (2, "schema_v2"), (3, "schema_v3"))
SCHEMA_VERSION = MIGRATIONS[-1][0]
