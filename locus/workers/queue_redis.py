"""The work queue in Redis: a stream per graph, read by one consumer group of workers.

Each item is a hash (``<prefix>work:i:<thread>``) plus an entry in its graph's stream
(``<prefix>work:q:<graph>``). Answers the inbox stores arrive in a second stream per graph
(``<prefix>work:a:<graph>``), read first: they resume runs under way. Workers read the
streams as consumers of the group ``workers`` (a blocking read when there is nothing: a
submit or an answer reaches an idle worker at once). A worker keeps the
entries it works on fresh (``XCLAIM`` to itself every second); an entry idle for longer
than ``CLAIM_IDLE_MS`` belongs to a worker that stopped, and ``reap`` takes it over with
``XAUTOCLAIM``. Redis cannot tell a dead worker by itself, so a worker's thread lease is
short (3 s, renewed every second): a successor's ``acquire`` succeeds once it ran out.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import redis.asyncio as aredis
from redis.exceptions import ResponseError

from locus.checkpoint.redis import RedisCheckpointer
from locus.workers.queue import WorkItem, WorkKind, WorkQueue, WorkState

__all__ = ["RedisQueue"]

GROUP = "workers"
#: an entry its worker has not refreshed for this long is taken over
CLAIM_IDLE_MS = 3000

_FIELDS = (
    "graph",
    "kind",
    "payload",
    "token",
    "priority",
    "state",
    "attempts",
    "error",
    "claimed_by",
    "queued_at",
    "ref",
)

# Stores a new item as ready, its field/value pairs from ARGV[first] on; 0 if the thread
# has an item already. KEYS: item, index, stream (then the script's own). ARGV[1]: tid.
_STORE_READY = """
local function store_ready(first)
    if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
    redis.call('HSET', KEYS[1], unpack(ARGV, first))
    local ref = redis.call('XADD', KEYS[3], '*', 't', ARGV[1])
    redis.call('HSET', KEYS[1], 'ref', ref, 'state', 'ready')
    redis.call('ZADD', KEYS[2], tonumber(redis.call('HGET', KEYS[1], 'queued_at')), ARGV[1])
    return 1
end
"""

# ARGV: tid, then field/value pairs.
_ENQUEUE = _STORE_READY + "return store_ready(2)\n"

# The same, only on a thread in the state the item needs (what ``submit`` checks): a new or
# finished thread for a run, a paused one for answers; of the item's graph either way.
# KEYS: as above, then the thread's t and c keys (see locus.checkpoint.redis_scripts).
# ARGV: tid, kind, graph, then field/value pairs.
_ENQUEUE_CHECKED = (
    _STORE_READY
    + """
local th = redis.call('HMGET', KEYS[4], 'seq', 'status')
local seq, graph = tonumber(th[1] or '0'), nil
if seq > 0 then
    local header = redis.call('HGET', KEYS[5], 'h:' .. th[1])
    if header then graph = cjson.decode(header)[3] end
end
if ARGV[2] == 'start' then
    if seq > 0 and (th[2] ~= 'done' or graph ~= ARGV[3]) then return 0 end
elseif seq == 0 or th[2] ~= 'paused' or graph ~= ARGV[3] then
    return 0
end
return store_ready(4)
"""
)

# An item's ``ref`` names its stream entry: ``a:<id>`` in its graph's answers stream (an
# answer the inbox stored), else ``<id>`` in its work stream. ``drop_entry(ref, work,
# answers)`` acknowledges and deletes that entry.
_DROP_ENTRY = """
local function drop_entry(ref, work, answers)
    if not ref then return end
    local stream, id = work, ref
    if string.sub(ref, 1, 2) == 'a:' then stream, id = answers, string.sub(ref, 3) end
    redis.call('XACK', stream, 'workers', id)
    redis.call('XDEL', stream, id)
end
"""

# KEYS: item, old stream, new stream, old answers stream. ARGV: old token, tid, then
# field/value pairs.
_REPLACE = (
    _DROP_ENTRY
    + """
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
drop_entry(redis.call('HGET', KEYS[1], 'ref'), KEYS[2], KEYS[4])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
local ref = redis.call('XADD', KEYS[3], '*', 't', ARGV[2])
redis.call('HSET', KEYS[1], 'ref', ref, 'state', 'ready')
return 1
"""
)

# KEYS: item, the entry's stream. ARGV: the entry's ref (see _DROP_ENTRY), mark. Takes a
# delivered entry's item, or acks a stale one.
_TAKE = (
    _DROP_ENTRY
    + """
local state = redis.call('HGET', KEYS[1], 'state')
local ref = redis.call('HGET', KEYS[1], 'ref')
if (not state) or state == 'failed' or ref ~= ARGV[1] then
    drop_entry(ARGV[1], KEYS[2], KEYS[2])
    return false
end
redis.call('HSET', KEYS[1], 'state', 'claimed', 'claimed_by', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'claims', 1)
return redis.call('HGETALL', KEYS[1])
"""
)

# KEYS: item, stream, the graph's ready set, index. ARGV: entry ref, mark, ready member,
# token, graph, queued_at, tid. An entry the inbox added with a ready mark (``m``, see
# ``locus.checkpoint.redis_scripts.APPEND_AUDIT``): the thread becomes a ``ready`` item, if it
# is still marked and has none, taken like any other.
_TAKE_READY = (
    """
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('ZSCORE', KEYS[3], ARGV[3]) then
  redis.call('HSET', KEYS[1], 'graph', ARGV[5], 'kind', 'ready', 'payload', '', 'token', ARGV[4],
             'priority', 0, 'state', 'ready', 'attempts', 0, 'error', '', 'claimed_by', '',
             'queued_at', ARGV[6], 'claims', 0, 'ref', ARGV[1])
  redis.call('ZADD', KEYS[4], tonumber(ARGV[6]), ARGV[7])
end
"""
    + _TAKE
)

# KEYS: item, index, stream, answers stream. ARGV: token, tid. Removes a carried-out item.
_FINISH = (
    _DROP_ENTRY
    + """
local ref = redis.call('HGET', KEYS[1], 'ref')
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
drop_entry(ref, KEYS[3], KEYS[4])
return 1
"""
)

# KEYS: item, stream, answers stream. ARGV: token, error, attempts.
_FAIL = (
    _DROP_ENTRY
    + """
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
drop_entry(redis.call('HGET', KEYS[1], 'ref'), KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'state', 'failed', 'error', ARGV[2], 'attempts', ARGV[3],
           'claimed_by', '')
return 1
"""
)

# KEYS: item, stream, answers stream. ARGV: token or '' (any), tid, state required. Makes
# the item ready again with a fresh entry in its work stream, so any worker sees it at once.
_REQUEUE = (
    _DROP_ENTRY
    + """
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'state') ~= ARGV[3] then return 0 end
drop_entry(redis.call('HGET', KEYS[1], 'ref'), KEYS[2], KEYS[3])
local ref = redis.call('XADD', KEYS[2], '*', 't', ARGV[2])
redis.call('HSET', KEYS[1], 'state', 'ready', 'claimed_by', '', 'ref', ref)
if ARGV[3] == 'failed' then redis.call('HSET', KEYS[1], 'attempts', 0, 'error', '') end
return 1
"""
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _item(tid: str, flat: list[Any] | dict[Any, Any]) -> WorkItem:
    if isinstance(flat, dict):
        data = {_text(k): v for k, v in flat.items()}
    else:
        data = {_text(flat[i]): flat[i + 1] for i in range(0, len(flat), 2)}
    return WorkItem(
        thread_id=tid,
        graph=_text(data["graph"]),
        kind=_kind(_text(data["kind"])),
        payload=bytes(data["payload"]),
        token=_text(data["token"]),
        priority=int(data["priority"]),
        state=_state(_text(data["state"])),
        attempts=int(data.get("attempts") or 0),
        error=_text(data["error"]) or None if data.get("error") else None,
        claimed_by=_text(data["claimed_by"]) or None if data.get("claimed_by") else None,
        queued_at=float(data["queued_at"]),
        claims=int(data.get("claims") or 0),
        ref=_text(data["ref"]) if data.get("ref") else None,
    )


async def _page(key: str, start: int, client: aredis.Redis) -> list[Any]:
    found: list[Any] = await client.zrange(key, start, start + 199)
    return found


def _pairs(item: WorkItem) -> list[Any]:
    return [
        "graph",
        item.graph,
        "kind",
        item.kind,
        "payload",
        item.payload,
        "token",
        item.token,
        "priority",
        item.priority,
        "attempts",
        0,
        "error",
        "",
        "claimed_by",
        "",
        "queued_at",
        repr(item.queued_at),
        "claims",
        0,
    ]


def _kind(text: str) -> WorkKind:
    return "resume" if text == "resume" else "ready" if text == "ready" else "start"


def _state(text: str) -> WorkState:
    return "claimed" if text == "claimed" else "failed" if text == "failed" else "ready"


class RedisQueue(WorkQueue):
    """Work items of a ``RedisCheckpointer``'s database, under its key prefix."""

    claims_ready = True

    def __init__(self, checkpointer: RedisCheckpointer) -> None:
        super().__init__(checkpointer)
        self.cp = checkpointer
        p = checkpointer.prefix
        self._item_key = f"{p}work:i:"
        self._index = f"{p}work:all"
        self._stream = f"{p}work:q:"
        self._answers = f"{p}work:a:"  # see RedisCheckpointer._append_audit
        # Entries delivered to this worker beyond the room it claimed for (a read's COUNT
        # applies to each stream): taken by its next claims first, kept fresh meanwhile.
        # Left behind by a worker that stops, they are taken over like any other.
        self._spare: list[tuple[str, Any, Any]] = []
        # the inbox's ready marks (see ``RedisCheckpointer._audit_keys``)
        self._ready = f"{p}rd:"
        self._member = f"{p}t:"
        self._groups: set[str] = set()
        self._scripts: dict[str, Any] = {}

    def _client(self) -> aredis.Redis:
        client = self.cp._client
        assert client is not None, "setup() runs before any operation"
        return client

    async def setup(self) -> None:
        await self.cp.setup()
        if not self._scripts:
            client = self._client()
            self._scripts = {
                name: client.register_script(src)
                for name, src in (
                    ("enqueue", _ENQUEUE),
                    ("enqueue_checked", _ENQUEUE_CHECKED),
                    ("replace", _REPLACE),
                    ("take", _TAKE),
                    ("take_ready", _TAKE_READY),
                    ("finish", _FINISH),
                    ("fail", _FAIL),
                    ("requeue", _REQUEUE),
                )
            }

    async def _run(self, what: str, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self.cp._scripted(what, self._scripts[name], keys, args)

    def _streams(self, graph: str) -> list[str]:
        """The graph's work stream and answers stream."""
        return [self._stream + graph, self._answers + graph]

    async def _group(self, graph: str) -> None:
        if graph in self._groups:
            return

        async def create(client: aredis.Redis) -> None:
            for stream in self._streams(graph):
                try:
                    await client.xgroup_create(stream, GROUP, id="0", mkstream=True)
                except ResponseError as exc:
                    if "BUSYGROUP" not in str(exc):
                        raise

        await self.cp._call("create a consumer group", create)
        self._groups.add(graph)

    async def enqueue(self, item: WorkItem) -> bool:
        await self.setup()
        keys = [self._item_key + item.thread_id, self._index, self._stream + item.graph]
        pairs = _pairs(item)
        done = await self._run("submit a run", "enqueue", keys, [item.thread_id, *pairs])
        return bool(done)

    async def enqueue_checked(self, item: WorkItem) -> bool:
        await self.setup()
        keys = [self._item_key + item.thread_id, self._index, self._stream + item.graph]
        keys += self.cp._keys(item.thread_id)[:2]
        args = [item.thread_id, item.kind, item.graph, *_pairs(item)]
        return bool(await self._run("submit a run", "enqueue_checked", keys, args))

    async def replace(self, old: WorkItem, new: WorkItem) -> bool:
        keys = [self._item_key + old.thread_id, self._stream + old.graph, self._stream + new.graph]
        keys.append(self._answers + old.graph)
        args = [old.token, old.thread_id, *_pairs(new)]
        return bool(await self._run("submit an answer", "replace", keys, args))

    async def claim(self, graphs: Sequence[str], mark: str, limit: int) -> list[WorkItem]:
        for graph in graphs:
            await self._group(graph)
        answers = {self._answers + g: ">" for g in graphs}
        work = {self._stream + g: ">" for g in graphs}

        async def read(streams: dict[Any, Any], count: int, block: int | None = None) -> Any:
            async def call(client: aredis.Redis) -> Any:
                return await client.xreadgroup(GROUP, mark, streams, count=count, block=block)

            found = await self.cp._call("claim work", call) or []
            return [(_text(s), ref, data) for s, entries in found for ref, data in entries]

        entries = self._spare
        # answers first: they resume runs under way, often with a person waiting
        if len(entries) < limit:
            entries += await read(answers, limit - len(entries))
        if len(entries) < limit:
            entries += await read(work, limit - len(entries))
        if not entries:
            entries = await read({**answers, **work}, 1, block=1000)  # wait for any
        entries.sort(key=lambda entry: not entry[0].startswith(self._answers))
        self._spare = entries[limit:]
        return await self._take(entries[:limit], mark)

    async def _take(self, entries: list[tuple[str, Any, Any]], mark: str) -> list[WorkItem]:
        """Take the stream entries read for ``mark``: one script each, sent in one pipeline."""
        calls: list[tuple[str, str, list[str], list[Any]]] = []
        for stream_key, ref, data in entries:
            if not data:
                continue
            member = data.get(b"m")
            if member is None:
                tid = _text(data.get(b"t", b""))
                keys, args = [self._item_key + tid, stream_key], [_text(ref), mark]
                calls.append((tid, "take", keys, args))
            else:
                tid = _text(member)[len(self._member) :]
                if stream_key.startswith(self._answers):
                    graph, stored = stream_key[len(self._answers) :], "a:" + _text(ref)
                else:  # an answer stored before answers had a stream of their own
                    graph, stored = stream_key[len(self._stream) :], _text(ref)
                keys = [self._item_key + tid, stream_key, self._ready + graph, self._index]
                token = f"answer-{os.urandom(6).hex()}"
                args = [stored, mark, member, token, graph, repr(time.time()), tid]
                calls.append((tid, "take_ready", keys, args))
        if not calls:
            return []

        async def take(client: aredis.Redis) -> list[Any]:
            async with client.pipeline(transaction=False) as pipe:
                for _, name, keys, args in calls:
                    await self._scripts[name](keys=keys, args=args, client=pipe)
                return list(await pipe.execute())

        replies = await self.cp._call("claim work", take)
        return [
            _item(tid, taken) for (tid, _, _, _), taken in zip(calls, replies, strict=True) if taken
        ]

    async def keep(self, items: Sequence[WorkItem], mark: str) -> None:
        by_stream: dict[str, list[Any]] = {}
        for item in items:
            if item.ref and item.ref.startswith("a:"):
                by_stream.setdefault(self._answers + item.graph, []).append(item.ref[2:])
            elif item.ref:
                by_stream.setdefault(self._stream + item.graph, []).append(item.ref)
        for stream, ref, _ in self._spare:
            by_stream.setdefault(stream, []).append(ref)

        async def touch(client: aredis.Redis) -> None:
            for stream, refs in by_stream.items():
                await client.xclaim(stream, GROUP, mark, 0, refs, justid=True)

        if by_stream:
            await self.cp._call("keep claimed work", touch)

    async def finish(self, items: Sequence[WorkItem]) -> None:
        script = self._scripts["finish"]

        async def finish(client: aredis.Redis) -> None:
            async with client.pipeline(transaction=False) as pipe:
                for item in items:
                    keys = [self._item_key + item.thread_id, self._index]
                    keys += self._streams(item.graph)
                    await script(keys=keys, args=[item.token, item.thread_id], client=pipe)
                await pipe.execute()

        await self.cp._call("finish work", finish)

    async def fail(self, item: WorkItem, error: str) -> None:
        keys = [self._item_key + item.thread_id, *self._streams(item.graph)]
        await self._run("record a failure", "fail", keys, [item.token, error, item.attempts])

    async def unclaim(self, item: WorkItem) -> None:
        keys = [self._item_key + item.thread_id, *self._streams(item.graph)]
        await self._run("hand work back", "requeue", keys, [item.token, item.thread_id, "claimed"])

    async def retry(self, thread_id: str) -> bool:
        await self.setup()
        item = await self.get(thread_id)
        if item is None:
            return False
        keys = [self._item_key + thread_id, *self._streams(item.graph)]
        done = await self._run("retry a failed run", "requeue", keys, ["", thread_id, "failed"])
        return bool(done)

    async def reap(self, graphs: Sequence[str], mark: str) -> tuple[int, list[WorkItem]]:
        found: list[tuple[str, Any, Any]] = []
        for graph in graphs:
            await self._group(graph)
            for stream in self._streams(graph):

                async def autoclaim(client: aredis.Redis, stream: str = stream) -> Any:
                    return await client.xautoclaim(stream, GROUP, mark, CLAIM_IDLE_MS, count=100)

                reply = await self.cp._call("take over stalled work", autoclaim)
                found += [(stream, ref, data) for ref, data in (reply[1] if reply else [])]
        taken = await self._take(found, mark) if found else []
        return len(taken), taken

    async def get(self, thread_id: str) -> WorkItem | None:
        await self.setup()
        data = await self.cp._call(
            "read a work item", lambda client: client.hgetall(self._item_key + thread_id)
        )
        return _item(thread_id, data) if data else None

    async def items(
        self, state: WorkState | None = None, graph: str | None = None, limit: int = 100
    ) -> list[WorkItem]:
        await self.setup()
        found: list[WorkItem] = []
        start = 0
        while len(found) < limit:
            ids: list[Any] = await self.cp._call(
                "list work items", partial(_page, self._index, start)
            )
            if not ids:
                break
            start += len(ids)
            for raw in ids:
                item = await self.get(_text(raw))
                if item is None:
                    continue
                if (state is None or item.state == state) and (
                    graph is None or item.graph == graph
                ):
                    found.append(item)
        return found[:limit]

    async def wait(self, graphs: Sequence[str], seconds: float) -> None:
        return  # claim itself blocks on the streams
