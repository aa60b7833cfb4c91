"""Answers stored through ``locus.inbox`` are carried out by worker processes, once each."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from collections import Counter
from pathlib import Path

import pytest
from desk_app import build
from procs import actions_of, cli_json, spawn_worker, stop

import locus.workers.worker as worker_module
from locus.checkpoint import Checkpointer, connect
from locus.core import interrupt
from locus.inbox import Actor, Inbox
from locus.multiagent.graph import END, START, StateGraph
from locus.workers import Worker


async def test_300_runs_answered_through_the_inbox_finish_exactly_once_on_three_workers(
    store_url: str, tmp_path: Path
) -> None:
    actions = tmp_path / "actions.log"
    workers = [spawn_worker(store_url, actions) for _ in range(3)]
    cp = connect(store_url)
    graph = build()
    graph.compile(checkpointer=cp)
    inbox = Inbox(cp)
    try:
        ids = [await graph.submit({"ticket": f"t{i}"}, thread_id=f"t{i}") for i in range(300)]
        for tid in ids:
            assert (await graph.result(tid, timeout=120)).status == "paused", tid
        answered = 0
        page = await inbox.pending(graph="desk", limit=100)
        while True:
            for item in page.items:
                receipt = await inbox.answer(item.id, "yes", actor=Actor("agent-7"))
                assert receipt.complete
                answered += 1
            if page.next_cursor is None:
                break
            page = await inbox.pending(graph="desk", limit=100, cursor=page.next_cursor)
        assert answered == 300
        for tid in ids:
            state = await graph.result(tid, timeout=120)
            while state.status != "done":  # the ready mark is picked up by a worker
                await asyncio.sleep(0.05)
                state = await graph.get_state(tid)
            assert state.values["answer"] == "yes", tid
        done = actions_of(actions)
        for what in ("triage", "work", "close"):
            counts = Counter(thread for w, thread, _, _ in done if w == what)
            assert counts == dict.fromkeys(ids, 1), what
        assert await cp.list_ready("desk") == []
        for w in workers:
            w.send_signal(signal.SIGTERM)
        assert [w.wait(60) for w in workers] == [0, 0, 0]
    finally:
        stop(*workers)
        await cp.aclose()


async def test_a_pause_past_its_deadline_is_timed_out_and_resumed_by_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cp = connect(f"sqlite:///{tmp_path}/due.db")
    g = StateGraph("due", checkpointer=cp)
    g.add_node(
        "ask",
        lambda s: {"answer": interrupt("ok?", deadline=dt.timedelta(seconds=0.3), on_timeout="no")},
    )
    g.add_edge(START, "ask")
    g.add_edge("ask", END)
    worker = Worker(cp, [g], poll_seconds=0.1)
    monkeypatch.setattr(worker_module, "EXPIRY_SECONDS", 0.2)
    task = asyncio.ensure_future(worker.run())
    await g.submit({}, thread_id="d1")
    assert (await g.result("d1", timeout=10)).status == "paused"
    for _ in range(100):
        state = await g.get_state("d1")
        if state.status == "done":
            break
        await asyncio.sleep(0.1)
    assert state.values["answer"] == "no"
    worker.stop()
    await task
    await cp.aclose()


async def test_threads_audit_shows_the_trail_and_checks_its_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/audit.db"
    cp = connect(url)
    graph = build()
    graph.compile(checkpointer=cp)
    monkeypatch.setenv("DESK_ACTIONS", str(tmp_path / "actions.log"))
    await graph.execute({"ticket": "a1"}, thread_id="a1")
    item = (await Inbox(cp).pending(graph="desk")).items[0]
    await Inbox(cp).answer(item.id, "yes", actor=Actor("maria"))
    await graph.execute(None, thread_id="a1")
    await cp.aclose()
    shown = await asyncio.to_thread(cli_json, url, "threads", "audit", "a1")
    assert shown["verified"] is True
    kinds = [e["kind"] for e in shown["entries"]]
    assert kinds[:2] == ["asked", "answered"] and "resumed" in kinds
    assert shown["entries"][1]["actor"] == "maria"


def asking_graph(cp: Checkpointer) -> StateGraph:
    """Graph ``desk``: one node that asks ``ok?`` and stores the answer."""
    graph = StateGraph("desk")
    graph.add_node("ask", lambda state: {"answer": interrupt("ok?")})
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    graph.compile(checkpointer=cp)
    return graph


async def test_an_inbox_answer_is_claimed_by_exactly_one_worker_in_one_claim(
    store_url: str,
) -> None:
    from locus.workers import queue_for

    cp = connect(store_url)
    graph = asking_graph(cp)
    queue = queue_for(cp)
    await queue.setup()
    try:
        await graph.execute({"ticket": "t1"}, thread_id="t1")
        item = (await Inbox(cp).pending(graph="desk")).items[0]
        await Inbox(cp).answer(item.id, "yes", actor=Actor("agent-7"))
        first = await queue.claim(["desk"], "w-first", 4)
        second = await queue.claim(["desk"], "w-second", 4)
        assert [(i.thread_id, i.kind, i.claimed_by) for i in first] == [("t1", "ready", "w-first")]
        assert second == []
        held = await queue.get("t1")
        assert held is not None and held.state == "claimed" and held.claimed_by == "w-first"
        await queue.finish(first)
        assert await queue.get("t1") is None
    finally:
        await queue.close()
        await cp.aclose()


async def test_an_answered_pause_is_claimed_before_runs_queued_earlier(
    store_url: str,
) -> None:
    """Answers resume runs under way (a person may be waiting on the outcome), so they go
    before queued submits; those by priority, then age (a Redis stream: by age only)."""
    from locus.workers import queue_for

    cp = connect(store_url)
    graph = asking_graph(cp)
    queue = queue_for(cp)
    await queue.setup()
    try:
        await graph.execute({"ticket": "t0"}, thread_id="t0")  # paused, no work queued
        for i in range(1, 6):  # runs waiting in the queue, one with a higher priority
            await graph.submit({"ticket": f"t{i}"}, thread_id=f"t{i}", priority=int(i == 4))
        item = (await Inbox(cp).pending(graph="desk")).items[0]
        await Inbox(cp).answer(item.id, "yes", actor=Actor("agent-7"))
        first = await queue.claim(["desk"], "w", 1)
        assert [(i.thread_id, i.kind) for i in first] == [("t0", "ready")]
        rest = await queue.claim(["desk"], "w", 3)
        fifo = store_url.startswith("redis")
        assert [i.thread_id for i in rest] == (["t1", "t2", "t3"] if fifo else ["t4", "t1", "t2"])
    finally:
        await queue.close()
        await cp.aclose()
