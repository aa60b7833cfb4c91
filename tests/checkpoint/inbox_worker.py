"""One OS process acting on a shared store's inbox; prints one JSON line.

Usage: inbox_worker.py STORE MODE ARGS... ROOT
  STORE  "sqlite|FILE", "postgres|DSN|SCHEMA" or "redis|URL|PREFIX"
  MODE   start THREAD QUORUM      -- run a new refund thread until it pauses
         answer IID VALUE ACTOR AT -- at time AT, answer IID as manager ACTOR
         resume THREAD            -- continue THREAD with its stored answers
         expire AT                -- at time AT, expire_due with "now" a day later
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time
from typing import Any

sys.path.insert(0, sys.argv[-1])  # the repository root, passed last

from locus.checkpoint import Checkpointer, SQLiteCheckpointer
from locus.core import interrupt
from locus.errors import LocusError
from locus.inbox import Actor, Answerers, Inbox
from locus.multiagent import END, START, StateGraph


def open_store(spec: str) -> Checkpointer:
    kind, *rest = spec.split("|")
    if kind == "sqlite":
        return SQLiteCheckpointer(rest[0])
    if kind == "postgres":
        from locus.checkpoint import PostgresCheckpointer

        return PostgresCheckpointer(rest[0], schema=rest[1], max_size=2)
    from locus.checkpoint import RedisCheckpointer

    return RedisCheckpointer(rest[0], prefix=rest[1])


def build(cp: Checkpointer) -> StateGraph:
    graph = StateGraph("desk", checkpointer=cp)

    def approve(state: dict[str, Any]) -> dict[str, Any]:
        decision = interrupt(
            {"refund": 1200},
            answerers=Answerers(roles={"manager"}, quorum=state["quorum"]),
            deadline=dt.timedelta(hours=1),
            on_timeout="no",
        )
        return {"decision": decision}

    graph.add_node("approve", approve).add_edge(START, "approve").add_edge("approve", END)
    return graph


async def main(spec: str, mode: str, args: list[str]) -> dict[str, Any]:
    async with open_store(spec) as cp:
        graph = build(cp)
        inbox = Inbox(cp)
        if mode == "start":
            result = await graph.execute({"quorum": int(args[1])}, thread_id=args[0])
            return {"interrupt": result.interrupts[0].interrupt.id}
        if mode == "answer":
            iid, value, actor, at = args
            await asyncio.sleep(max(0.0, float(at) - time.time()))
            try:
                receipt = await inbox.answer(iid, value, actor=Actor(actor, frozenset({"manager"})))
            except LocusError as exc:
                return {"error": type(exc).__name__, "message": str(exc)}
            return {"complete": receipt.complete}
        if mode == "resume":
            result = await graph.execute(None, thread_id=args[0])
            return {"state": result.final_state}
        if mode == "expire":
            await asyncio.sleep(max(0.0, float(args[0]) - time.time()))
            later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
            return {"applied": [a.thread_id for a in await inbox.expire_due(later)]}
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:-1]))))
