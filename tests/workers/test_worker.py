"""Workers in one process: submit and result, retries, timeouts, priorities, hand takeover."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from desk_app import build
from procs import actions_of, spawn_worker, stop

from locus.checkpoint import MemoryCheckpointer, SQLiteCheckpointer, connect
from locus.core.command import Command
from locus.core.interrupt import interrupt
from locus.errors import (
    ConfigurationError,
    InvalidInputError,
    NodeTimeoutError,
    ResultTimeoutError,
    RunFailedError,
    ThreadNotFoundError,
)
from locus.multiagent.graph import END, START, StateGraph
from locus.workers import Worker, queue_for
from locus.workers.run import carry_out


def asker(cp: Any, name: str = "ask") -> StateGraph:
    g = StateGraph(name, checkpointer=cp)
    g.add_node("a", lambda s: {"n": s.get("n", 0) + 1})
    g.add_node("q", lambda s: {"answer": interrupt("ok?")})
    g.add_edge(START, "a")
    g.add_edge("a", "q")
    g.add_edge("q", END)
    return g


async def running(worker: Worker) -> asyncio.Task[None]:
    task = asyncio.ensure_future(worker.run())
    await asyncio.sleep(0)
    return task


async def test_submitted_run_pauses_and_a_submitted_answer_finishes_it() -> None:
    cp = MemoryCheckpointer()
    g = asker(cp)
    worker = Worker(cp, [g], concurrency=2, poll_seconds=0.05)
    task = await running(worker)
    tid = await g.submit({"n": 1})
    paused = await g.result(tid, timeout=5)
    assert paused.status == "paused" and paused.values["n"] == 2
    await g.submit(Command(resume="yes"), thread_id=tid)
    done = await g.result(tid, timeout=5)
    assert done.status == "done" and done.values["answer"] == "yes"
    worker.stop()
    await task


async def test_submit_refuses_a_paused_thread_and_a_thread_with_work_queued() -> None:
    cp = MemoryCheckpointer()
    g = asker(cp)
    await g.execute({"n": 0}, thread_id="p")
    with pytest.raises(InvalidInputError, match="'p' is 'paused'"):
        await g.submit({"n": 1}, thread_id="p")
    await g.submit({"n": 1}, thread_id="q")
    with pytest.raises(InvalidInputError, match="already has work queued"):
        await g.submit({"n": 2}, thread_id="q")
    with pytest.raises(ThreadNotFoundError, match="nothing to answer"):
        await g.submit(Command(resume=1), thread_id="nobody")


async def test_result_of_an_unknown_thread_raises_and_an_unserved_one_times_out() -> None:
    cp = MemoryCheckpointer()
    g = asker(cp)
    with pytest.raises(ThreadNotFoundError):
        await g.result("nobody", timeout=1)
    await g.submit({"n": 1}, thread_id="waiting")
    with pytest.raises(ResultTimeoutError, match="'waiting' did not pause or finish"):
        await g.result("waiting", timeout=0.1)


async def test_a_node_past_its_timeout_fails_the_attempt_and_the_thread() -> None:
    cp = MemoryCheckpointer()
    g = StateGraph("hang", checkpointer=cp)

    async def hang(state: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(60)
        return {}

    g.add_node("hang", hang)
    g.add_edge(START, "hang")
    g.config.node_timeout = 0.2
    g.config.max_retries = 0
    worker = Worker(cp, [g], poll_seconds=0.05)
    task = await running(worker)
    await g.submit({}, thread_id="h")
    with pytest.raises(RunFailedError, match="node 'hang' of graph 'hang' ran longer"):
        await g.result("h", timeout=10)
    item = await queue_for(cp).get("h")
    assert item is not None and item.error is not None
    assert item.error.startswith(NodeTimeoutError.__name__)
    worker.stop()
    await task


async def test_higher_priority_work_is_claimed_first(tmp_path: Path) -> None:
    cp = SQLiteCheckpointer(tmp_path / "p.db")
    order: list[str] = []
    g = StateGraph("prio", checkpointer=cp)
    g.add_node("x", lambda s: order.append(s["name"]))
    g.add_edge(START, "x")
    await g.submit({"name": "low"}, thread_id="low")
    await g.submit({"name": "high"}, thread_id="high", priority=5)
    worker = Worker(cp, [g], concurrency=1, poll_seconds=0.05)
    task = await running(worker)
    await g.result("low", timeout=5)
    worker.stop()
    await task
    assert order == ["high", "low"]
    await cp.aclose()


async def test_a_reclaimed_item_whose_run_already_paused_runs_nothing_again(
    tmp_path: Path,
) -> None:
    cp = SQLiteCheckpointer(tmp_path / "r.db")
    calls: list[int] = []
    g = StateGraph("again", checkpointer=cp)
    g.add_node("a", lambda s: calls.append(1) or {"n": 1})
    g.add_node("q", lambda s: {"answer": interrupt("ok?")})
    g.add_edge(START, "a")
    g.add_edge("a", "q")
    await g.submit({}, thread_id="t")
    queue = queue_for(cp)
    [item] = await queue.claim(["again"], "w1", 1)
    first = await carry_out(g, item, "w1.a", 5)
    # the worker died before removing the item; another claims it again
    await queue.unclaim(item)
    [again] = await queue.claim(["again"], "w2", 1)
    assert again.claims == 2
    second = await carry_out(g, again, "w2.b", 5)
    assert (first.outcome, second.outcome) == ("paused", "nothing")
    assert calls == [1]
    await cp.aclose()


async def test_a_worker_needs_graphs_and_a_positive_concurrency() -> None:
    cp = MemoryCheckpointer()
    with pytest.raises(ConfigurationError, match="at least one graph"):
        Worker(cp, [])
    with pytest.raises(ConfigurationError, match="concurrency"):
        Worker(cp, [asker(cp)], concurrency=0)
    with pytest.raises(ConfigurationError, match="two graphs named 'ask'"):
        Worker(cp, [asker(cp), asker(cp)])


async def test_execute_by_hand_takes_over_a_killed_workers_thread_at_once(
    live_store_url: str, tmp_path: Path
) -> None:
    url = live_store_url
    actions = tmp_path / "actions.log"
    worker = spawn_worker(url, actions, concurrency=1, slow="30")
    cp = connect(url)
    g = build()
    g.compile(checkpointer=cp)
    try:
        await g.submit({"ticket": "h1"}, thread_id="h1")
        deadline = time.monotonic() + 30
        while not any(w == "work-start" for w, *_ in actions_of(actions)):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        # the default lease is 30 s; the dead worker's lease goes at once all the same
        g.config.lease_seconds = 30
        import desk_app

        desk_app.os.environ["DESK_ACTIONS"] = str(actions)
        desk_app.os.environ["DESK_SLOW"] = "0"
        result = await g.execute(None, thread_id="h1")
        assert result.interrupts
    finally:
        stop(worker)
        await cp.aclose()


async def test_a_worker_whose_store_session_ends_stops_instead_of_running_on(pg_url: str) -> None:
    import psycopg

    from locus.errors import StoreUnavailableError

    cp = connect(pg_url)
    g = asker(cp)
    worker = Worker(cp, [g], poll_seconds=0.1)
    task = await running(worker)
    await g.submit({"n": 1}, thread_id="s")
    await g.result("s", timeout=10)
    session = worker.queue._conn  # type: ignore[attr-defined]
    async with await psycopg.AsyncConnection.connect(pg_url.split("?")[0], autocommit=True) as c:
        await c.execute("SELECT pg_terminate_backend(%s)", (session.info.backend_pid,))
    with pytest.raises(StoreUnavailableError, match="lost its session"):
        await asyncio.wait_for(task, 10)
    await cp.aclose()


def sleeper(cp: Any, seconds: float, seen: list[int], name: str = "nap") -> StateGraph:
    running = [0]

    async def nap(state: dict[str, Any]) -> dict[str, Any]:
        running[0] += 1
        seen.append(running[0])
        try:
            await asyncio.sleep(seconds)
        finally:
            running[0] -= 1
        return {"napped": True}

    g = StateGraph(name, checkpointer=cp)
    g.add_node("nap", nap)
    g.add_edge(START, "nap")
    return g


async def test_a_graphs_max_concurrency_bounds_its_threads_on_one_worker() -> None:
    cp = MemoryCheckpointer()
    seen: list[int] = []
    g = sleeper(cp, 0.05, seen)
    g.config.max_concurrency = 1
    worker = Worker(cp, [g], concurrency=4, poll_seconds=0.05)
    task = await running(worker)
    for i in range(3):
        await g.submit({}, thread_id=f"n{i}")
    for i in range(3):
        await g.result(f"n{i}", timeout=10)
    worker.stop()
    await task
    assert seen == [1, 1, 1]


async def test_stop_hands_back_runs_still_in_flight_when_the_grace_ends() -> None:
    cp = MemoryCheckpointer()
    seen: list[int] = []
    g = sleeper(cp, 30, seen)
    worker = Worker(cp, [g], poll_seconds=0.05, grace_seconds=0.2)
    task = await running(worker)
    await g.submit({}, thread_id="long")
    for _ in range(500):
        if seen:
            break
        await asyncio.sleep(0.01)
    worker.stop()
    await asyncio.wait_for(task, 5)
    item = await queue_for(cp).get("long")
    assert item is not None and item.state == "ready"  # another worker takes it at once
    assert await cp.get("long") is None  # its unfinished first step was not stored


async def test_a_worker_that_emptied_the_queue_claims_again_only_when_work_comes() -> None:
    cp = MemoryCheckpointer()
    g = asker(cp)
    worker = Worker(cp, [g], concurrency=4, poll_seconds=30)
    claims: list[int] = []
    claim = worker.queue.claim

    async def counted(graphs: Any, mark: str, limit: int) -> Any:
        items = await claim(graphs, mark, limit)
        claims.append(len(items))
        return items

    worker.queue.claim = counted  # type: ignore[method-assign]
    task = await running(worker)
    tid = await g.submit({"n": 1})
    assert (await g.result(tid, timeout=5)).status == "paused"
    for _ in range(20):  # let the worker settle after the run ends
        await asyncio.sleep(0.01)
    # the claim that took the one run found the queue drained: neither the run ending
    # nor an empty re-claim costs another statement
    assert claims == [0, 1]
    await g.submit(Command(resume="yes"), thread_id=tid)
    assert (await g.result(tid, timeout=5)).status == "done"
    worker.stop()
    await task
