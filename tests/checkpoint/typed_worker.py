"""A worker process whose paused state holds a pydantic model; prints one JSON line.

Usage: typed_worker.py BACKEND TARGET MODE THREAD ROOT
  BACKEND  sqlite (TARGET is the file) or postgres (TARGET is "DSN|SCHEMA")
  MODE     start          -- run a new thread with a Ticket in its state until it pauses
           resume         -- resume THREAD with "yes", registering no types
           resume-typed   -- resume THREAD with "yes", the graph declaring types=[Ticket]
Each process imports the Ticket class; only "start" and "resume-typed" register it (the
first by storing one, the second by declaring it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from typing import Any

sys.path.insert(0, sys.argv[-1])  # the repository root, passed last

from checkpoint_samples import Priority, Ticket

from locus.checkpoint import Checkpointer, SQLiteCheckpointer
from locus.core import Command, interrupt
from locus.multiagent import END, START, StateGraph


def open_checkpointer(backend: str, target: str) -> Checkpointer:
    if backend == "sqlite":
        return SQLiteCheckpointer(target)
    from locus.checkpoint import PostgresCheckpointer

    dsn, schema = target.split("|")
    return PostgresCheckpointer(dsn, schema=schema, max_size=2)


def build(checkpointer: Checkpointer, typed: bool) -> StateGraph:
    graph = StateGraph("typed", checkpointer=checkpointer, types=[Ticket] if typed else [])

    def review(state: dict[str, Any]) -> dict[str, Any]:
        answer = interrupt({"question": "escalate?", "ticket": state["ticket"].id})
        return {"verdict": f"{type(state['ticket']).__name__} {state['ticket'].priority}: {answer}"}

    graph.add_node("review", review).add_edge(START, "review").add_edge("review", END)
    return graph


async def main(backend: str, target: str, mode: str, thread: str) -> None:
    async with open_checkpointer(backend, target) as cp:
        graph = build(cp, typed=mode == "resume-typed")
        try:
            if mode == "start":
                opened = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
                ticket = Ticket(id=7, title="printer", opened=opened, priority=Priority.HIGH)
                await graph.execute({"ticket": ticket}, thread_id=thread)
            else:
                await graph.execute(Command(resume="yes"), thread_id=thread)
        except Exception as exc:
            print(json.dumps({"error": type(exc).__name__, "message": str(exc)}), flush=True)
            return
        state = await graph.get_state(thread)
        print(json.dumps({"status": state.status, "verdict": state.values.get("verdict")}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:-1]))
