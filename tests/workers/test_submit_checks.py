"""``submit`` checks the thread before it stores anything, on every store: where the store
checks and enqueues in one step (PostgreSQL, Redis) as where it reads first (SQLite)."""

from __future__ import annotations

from typing import Any

import pytest

from locus.checkpoint import connect
from locus.core.command import Command
from locus.core.interrupt import interrupt
from locus.errors import InvalidInputError, ThreadNotFoundError
from locus.multiagent.graph import END, START, StateGraph
from locus.workers import queue_for


def asker(cp: Any, name: str) -> StateGraph:
    g = StateGraph(name, checkpointer=cp)
    g.add_node("q", lambda s: {"answer": interrupt("ok?")})
    g.add_edge(START, "q")
    g.add_edge("q", END)
    return g


async def test_submit_stores_only_what_the_thread_can_take(store_url: str) -> None:
    cp = connect(store_url)
    await cp.setup()
    desk, other = asker(cp, "desk"), asker(cp, "other")
    queue = queue_for(cp)
    await desk.execute({}, thread_id="paused")
    await desk.execute({}, thread_id="done")
    await desk.execute(Command(resume="yes"), thread_id="done")

    with pytest.raises(InvalidInputError, match="'paused' is 'paused'"):
        await desk.submit({"n": 1}, thread_id="paused")
    with pytest.raises(InvalidInputError, match="'done' is 'done', not paused"):
        await desk.submit(Command(resume="again"), thread_id="done")
    with pytest.raises(ThreadNotFoundError, match="'nobody'"):
        await desk.submit(Command(resume="yes"), thread_id="nobody")
    with pytest.raises(InvalidInputError, match="belongs to graph 'desk', not 'other'"):
        await other.submit(Command(resume="yes"), thread_id="paused")
    with pytest.raises(InvalidInputError, match="belongs to graph 'desk', not 'other'"):
        await other.submit({"n": 1}, thread_id="done")
    assert await queue.items() == []  # nothing refused was stored

    await desk.submit(Command(resume="yes"), thread_id="paused")
    await desk.submit({"n": 2}, thread_id="done")
    await desk.submit({"n": 3}, thread_id="new")
    stored = {(i.thread_id, i.kind, i.graph) for i in await queue.items()}
    assert stored == {
        ("paused", "resume", "desk"),
        ("done", "start", "desk"),
        ("new", "start", "desk"),
    }
    with pytest.raises(InvalidInputError, match="already has work queued"):
        await desk.submit({"n": 4}, thread_id="new")
    await cp.aclose()
