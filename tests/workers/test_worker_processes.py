"""Worker processes on real SQLite, PostgreSQL and Redis: killed, stopped, drained, failing."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from desk_app import build
from procs import actions_of, cli_json, log_of, spawn_worker, stop

from locus.checkpoint import Checkpointer, connect
from locus.core.command import Command
from locus.errors import RunFailedError
from locus.multiagent.graph import StateGraph
from locus.workers import queue_for

pytestmark = pytest.mark.timeout(240)


async def desk(url: str) -> tuple[StateGraph, Checkpointer]:
    cp = connect(url)
    await cp.setup()
    graph = build()
    graph.compile(checkpointer=cp)
    return graph, cp


async def until(check: Any, seconds: float, what: str) -> Any:
    """Poll ``check()`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def terminate(proc: subprocess.Popen[str], seconds: float = 60) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(seconds)


async def test_runs_answered_by_submitted_commands_are_carried_out_once_by_three_workers(
    store_url: str, tmp_path: Path
) -> None:
    actions = tmp_path / "actions.log"
    workers = [spawn_worker(store_url, actions) for _ in range(3)]
    graph, cp = await desk(store_url)
    try:
        ids = [await graph.submit({"ticket": f"t{i}"}, thread_id=f"t{i}") for i in range(120)]
        for tid in ids:
            state = await graph.result(tid, timeout=120)
            assert state.status == "paused", tid
            await graph.submit(Command(resume="yes"), thread_id=tid)
        for tid in ids:
            state = await graph.result(tid, timeout=120)
            assert state.status == "done" and state.values["answer"] == "yes", tid
        done = actions_of(actions)
        for what in ("triage", "work", "close"):
            counts = Counter(thread for w, thread, _, _ in done if w == what)
            assert counts == dict.fromkeys(ids, 1), what
        # the work was shared: every worker process carried out some of it
        assert len({pid for *_, pid, _ in done}) == 3
        assert [terminate(w) for w in workers] == [0, 0, 0]
    finally:
        stop(*workers)
        await cp.aclose()


async def test_sigkilled_worker_threads_are_taken_over_within_5s_without_rerunning_steps(
    store_url: str, tmp_path: Path
) -> None:
    actions = tmp_path / "actions.log"
    victim = spawn_worker(store_url, actions, concurrency=4, slow="3")
    graph, cp = await desk(store_url)
    survivor = None
    try:
        ids = [await graph.submit({"ticket": f"k{i}"}, thread_id=f"k{i}") for i in range(4)]
        # the victim is inside the slow step of every thread (triage already checkpointed)
        await until(
            lambda: sum(w == "work-start" for w, *_ in actions_of(actions)) == 4, 30, "4 starts"
        )
        survivor = spawn_worker(store_url, actions, concurrency=4, slow="0.2")
        await until(lambda: "serving desk" in log_of(survivor), 30, "the survivor to start")
        victim.send_signal(signal.SIGKILL)
        killed_at = time.time()
        victim.wait(10)
        for tid in ids:
            state = await graph.result(tid, timeout=60)
            assert state.status == "paused"
        done = actions_of(actions)
        taken = [at for w, _, pid, at in done if w == "work-start" and pid == survivor.pid]
        assert len(taken) == 4
        assert min(taken) - killed_at < 5.0
        # the completed, checkpointed triage step never ran again
        assert Counter(t for w, t, *_ in done if w == "triage") == dict.fromkeys(ids, 1)
        assert all(pid == survivor.pid for w, _, pid, _ in done if w == "work")
        assert terminate(survivor) == 0
    finally:
        stop(victim, *(p for p in [survivor] if p is not None))
        await cp.aclose()


async def test_stopped_worker_continued_after_takeover_cannot_write(
    store_url: str, tmp_path: Path
) -> None:
    actions = tmp_path / "actions.log"
    sleeper = spawn_worker(store_url, actions, concurrency=1, slow="4", lease="1.5")
    graph, cp = await desk(store_url)
    successor = None
    try:
        await graph.submit({"ticket": "s1"}, thread_id="s1")
        await until(lambda: any(w == "work-start" for w, *_ in actions_of(actions)), 30, "start")
        sleeper.send_signal(signal.SIGSTOP)
        successor = spawn_worker(store_url, actions, concurrency=1, slow="0", lease="1.5")
        state = await graph.result("s1", timeout=60)
        assert state.status == "paused"
        assert state.values["worked_by"] == successor.pid
        sleeper.send_signal(signal.SIGCONT)
        # the woken worker finishes its sleep, then its write is refused (fencing)
        await until(lambda: "lost thread 's1'" in log_of(sleeper), 30, "the stale write refused")
        history = await graph.get_state_history("s1")
        assert all(h.values.get("worked_by") != sleeper.pid for h in history)
        assert (await graph.get_state("s1")).checkpoint == state.checkpoint
        assert terminate(sleeper) == 0 and terminate(successor) == 0
    finally:
        stop(sleeper, *(p for p in [successor] if p is not None))
        await cp.aclose()


async def test_sigterm_lets_in_flight_runs_finish_before_the_worker_exits(
    store_url: str, tmp_path: Path
) -> None:
    actions = tmp_path / "actions.log"
    worker = spawn_worker(store_url, actions, concurrency=2, slow="1.5")
    graph, cp = await desk(store_url)
    try:
        for tid in ("d1", "d2"):
            await graph.submit({"ticket": tid}, thread_id=tid)
        await until(
            lambda: sum(w == "work-start" for w, *_ in actions_of(actions)) == 2, 30, "starts"
        )
        assert terminate(worker) == 0
        for tid in ("d1", "d2"):
            assert (await graph.get_state(tid)).status == "paused"
            assert await queue_for(cp).get(tid) is None
    finally:
        stop(worker)
        await cp.aclose()


async def test_failing_step_ends_failed_after_its_retries_and_retry_recovers_it(
    store_url: str, tmp_path: Path
) -> None:
    actions = tmp_path / "actions.log"
    flag = tmp_path / "api-down"
    flag.touch()
    worker = spawn_worker(store_url, actions, concurrency=2, fail_flag=str(flag), retries="2")
    graph, cp = await desk(store_url)
    try:
        await graph.submit({"ticket": "f1"}, thread_id="f1")
        with pytest.raises(RunFailedError, match="the helpdesk API is down"):
            await graph.result("f1", timeout=60)
        starts = [w for w, t, *_ in actions_of(actions) if w == "work-start"]
        assert len(starts) == 3  # the first attempt and max_retries=2 retries
        failed = cli_json(store_url, "threads", "list", "--status", "failed")
        assert [(r["thread_id"], r["attempts"]) for r in failed] == [("f1", 3)]
        assert "helpdesk API is down" in failed[0]["error"]
        flag.unlink()
        assert cli_json(store_url, "threads", "retry", "f1") == {
            "thread_id": "f1",
            "status": "ready",
        }
        state = await graph.result("f1", timeout=60)
        assert state.status == "paused"
        assert Counter(w for w, *_ in actions_of(actions))["triage"] == 1
        assert terminate(worker) == 0
    finally:
        stop(worker)
        await cp.aclose()
