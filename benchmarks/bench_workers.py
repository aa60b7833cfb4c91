"""Worker processes end to end, per backend. Not part of the test run.

Run from the repository root:

    python benchmarks/bench_workers.py [--runs 600] [--workers 1,2,4] \\
        [--backends sqlite,postgres,redis] [--repeat 3]

For each backend and number of worker processes (``locus worker bench_workers:graph``):

* runs/s: complete runs per second, from the first submit to the last run's final
  checkpoint (read from the store afterwards, outside the measured time). A run is a
  submit, a step, a pause, an answer (given by this process as soon as it sees the pause's
  ``asked`` entry in the store's audit feed, as a notifier does: ``Inbox.answer``, or
  ``--answer submit`` for a submitted ``Command``), the resumed step and the finish;
* answer->resume latency: from the answer's submit returning to the resumed node starting
  in a worker (median and p99; the worker records the start time in the thread's state),
  under the load above and with idle workers (40 answers one at a time);
* with ``--cpu``: the CPU time per run, in that measured time, of this driver, the workers
  and the store's server processes (read from /proc: Linux, with the server on this machine);
* takeover: with 2 workers, one is SIGKILLed while it holds 4 threads in a slow step; the
  seconds from the kill to the other starting the first of them.

PostgreSQL and Redis come from LOCUS_TEST_POSTGRES_DSN / LOCUS_TEST_REDIS_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from locus.checkpoint import Checkpointer, connect  # noqa: E402
from locus.core.command import Command  # noqa: E402
from locus.core.interrupt import interrupt  # noqa: E402
from locus.inbox import Actor, Inbox  # noqa: E402
from locus.multiagent.graph import END, START, StateGraph  # noqa: E402
from locus.workers import queue_for  # noqa: E402

POSTGRES_DSN = os.environ.get(
    "LOCUS_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LOCUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


# --- the graph the workers run -------------------------------------------------------------


async def first(state: dict[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(float(os.environ.get("BENCH_SLOW") or 0))
    return {"started": time.time()}


def ask(state: dict[str, Any]) -> dict[str, Any]:
    return {"answer": interrupt({"ticket": state["ticket"]})}


def resumed(state: dict[str, Any]) -> dict[str, Any]:
    return {"resumed_at": time.time()}


def build() -> StateGraph:
    g = StateGraph("bench")
    g.add_node("first", first)
    g.add_node("ask", ask)
    g.add_node("resumed", resumed)
    g.add_edge(START, "first")
    g.add_edge("first", "ask")
    g.add_edge("ask", "resumed")
    g.add_edge("resumed", END)
    return g


graph = build()


# --- the driver -------------------------------------------------------------------------------


def store(kind: str, tmp: str) -> str:
    tag = uuid.uuid4().hex[:8]
    if kind == "sqlite":
        return f"sqlite:///{tmp}/bench-{tag}.db"
    if kind == "postgres":
        return f"{POSTGRES_DSN}?schema=bench_{tag}"
    return f"{REDIS_URL}?prefix=bench-{tag}:"


async def drop(kind: str, url: str) -> None:
    if kind == "postgres":
        import psycopg

        schema = url.rsplit("schema=", 1)[1]
        async with await psycopg.AsyncConnection.connect(POSTGRES_DSN, autocommit=True) as conn:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    elif kind == "redis":
        import redis.asyncio as aredis

        prefix = url.rsplit("prefix=", 1)[1]
        client = aredis.Redis.from_url(REDIS_URL)
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def spawn(url: str, concurrency: int, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "locus",
            "worker",
            "bench_workers:graph",
            "--store",
            url,
            "--concurrency",
            str(concurrency),
            "--poll",
            "0.5",
            "--log-level",
            "WARNING",
        ],
        env={**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{ROOT}", **env},
        cwd=str(HERE),
    )


def stat_cpu(text: str, children: bool = False) -> float:
    """CPU seconds in a /proc/<pid>/stat line: user and system time, with those of the
    process's exited children if ``children``."""
    fields = text.rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11 : 15 if children else 13]) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> list[float] | None:
    """Each process's CPU time so far, from /proc (``None`` where there is no /proc)."""
    if not Path("/proc/self/stat").exists():
        return None
    return [stat_cpu(Path(f"/proc/{pid}/stat").read_text()) for pid in pids]


def server_cpu_seconds(kind: str) -> float:
    """CPU time used so far by this machine's PostgreSQL or Redis server processes, with
    their exited children (PostgreSQL's backends); 0 for SQLite, or without /proc."""
    name = {"postgres": "postgres", "redis": "redis-server"}.get(kind)
    if name is None or not Path("/proc/self/stat").exists():
        return 0.0
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # exited meanwhile
        if text[text.index("(") + 1 : text.rindex(")")].startswith(name):
            total += stat_cpu(text, children=True)
    return total


def cpu_now(kind: str, procs: list[subprocess.Popen[bytes]]) -> tuple[float, float, float]:
    """CPU seconds so far of this process (the driver), the workers and the store server."""
    me = time.process_time()
    workers = sum(cpu_seconds([p.pid for p in procs]) or [0.0])
    return me, workers, server_cpu_seconds(kind)


async def settled(procs: list[subprocess.Popen[bytes]]) -> None:
    """Wait until every worker process has started up and is idle.

    A warm-up run shows that one worker serves; the others may still be importing, and
    that start-up would be counted in the measured time. A process is idle once it uses
    under 10 ms of CPU in 0.2 s (without /proc, wait two seconds instead).
    """
    pids = [p.pid for p in procs]
    before = cpu_seconds(pids)
    if before is None:
        await asyncio.sleep(2.0)
        return
    for _ in range(100):
        await asyncio.sleep(0.2)
        now = cpu_seconds(pids) or before
        if all(b - a < 0.01 for a, b in zip(before, now, strict=True)):
            return
        before = now


async def started(cp: Checkpointer, url: str) -> None:
    """Wait until the workers answer: one warm-up run goes through."""
    g = build()
    g.compile(checkpointer=cp)
    tid = "warmup-" + uuid.uuid4().hex[:6]
    await g.submit({"ticket": tid}, thread_id=tid)
    await g.result(tid, timeout=60)
    await g.submit(Command(resume="ok"), thread_id=tid)
    await g.result(tid, timeout=60)


def answerer(cp: Checkpointer, g: StateGraph, how: str) -> Any:
    """Answer one pending interrupt: through the inbox, or as a submitted Command."""
    inbox = Inbox(cp)
    actor = Actor("bench")

    async def answer(pending: Any) -> None:
        if how == "inbox":
            await inbox.answer(pending.interrupt_id, "yes", actor=actor)
        else:
            await g.submit(Command(resume="yes"), thread_id=pending.thread_id)

    return answer


async def throughput(
    kind: str, workers: int, runs: int, tmp: str, how: str, concurrency: int = 16
) -> dict[str, float]:
    url = store(kind, tmp)
    cp = connect(url)
    await cp.setup()
    g = build()
    g.compile(checkpointer=cp)
    procs = [spawn(url, concurrency) for _ in range(workers)]
    try:
        await started(cp, url)
        await settled(procs)
        queue = queue_for(cp)
        ids = [f"r{i}" for i in range(runs)]
        answered: dict[str, float] = {}
        inbox = Inbox(cp)
        after = await feed_end(inbox)
        cpu0 = cpu_now(kind, procs)
        t0 = time.time()
        await asyncio.gather(*(g.submit({"ticket": t}, thread_id=t) for t in ids))
        send = answerer(cp, g, how)
        while len(answered) < runs:
            entries = await inbox.feed(after, limit=500)
            if not entries:
                await asyncio.sleep(0.002)
                continue
            after = entries[-1].position
            asked = [e for e in entries if e.kind == "asked" and e.thread_id not in answered]

            async def answer(pending: Any) -> None:
                await send(pending)
                answered[pending.thread_id] = time.time()

            await asyncio.gather(*(answer(e) for e in asked))
        while await queue.items(limit=1) or await cp.list_ready(limit=1):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        cpu = [(b - a) * 1e3 / runs for a, b in zip(cpu0, cpu_now(kind, procs), strict=True)]
        states = {}
        for tid in ids:  # a resumed step may still run after its ready mark is consumed
            while (state := await g.get_state(tid)).status != "done":
                assert state.status == "running", (tid, state.status)
                await asyncio.sleep(0.005)
            states[tid] = state
        # the last run's finish: its final checkpoint (the states are read after the clock
        # stops, so reading them is not counted)
        elapsed = max(s.created_at.timestamp() for s in states.values()) - t0
        latencies = [(states[t].values["resumed_at"] - answered[t]) * 1e3 for t in ids]
        idle = await idle_latencies(cp, g, 40, send)
        return {
            "runs/s": runs / elapsed,
            "median ms": statistics.median(latencies),
            "p99 ms": p99(latencies),
            "idle median ms": statistics.median(idle),
            "idle p99 ms": p99(idle),
            "driver cpu ms": cpu[0],
            "workers cpu ms": cpu[1],
            "server cpu ms": cpu[2],
        }
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(60)
        await cp.aclose()
        await drop(kind, url)


async def feed_end(inbox: Inbox) -> int:
    """The position of the store's newest audit entry (0 for none)."""
    after = 0
    while entries := await inbox.feed(after, limit=500):
        after = entries[-1].position
    return after


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


async def idle_latencies(cp: Checkpointer, g: StateGraph, count: int, send: Any) -> list[float]:
    """Answer paused threads one at a time, each reaching idle workers."""
    ids = [f"idle{i}" for i in range(count)]
    for tid in ids:
        await g.submit({"ticket": tid}, thread_id=tid)
    for tid in ids:
        await g.result(tid, timeout=60)
    found = []
    pending = {p.thread_id: p for p in (await cp.list_pending(limit=500)).items}
    for tid in ids:
        await asyncio.sleep(0.02)
        await send(pending[tid])
        answered = time.time()
        state = await g.result(tid, timeout=60)
        while state.status != "done":  # an inbox answer: no queued work to wait on
            await asyncio.sleep(0.001)
            state = await g.get_state(tid)
        found.append((state.values["resumed_at"] - answered) * 1e3)
    return found


async def takeover(kind: str, tmp: str) -> float:
    url = store(kind, tmp)
    cp = connect(url)
    await cp.setup()
    g = build()
    g.compile(checkpointer=cp)
    victim = spawn(url, 4, BENCH_SLOW="30")
    survivor = None
    try:
        ids = [f"k{i}" for i in range(4)]
        for tid in ids:
            await g.submit({"ticket": tid}, thread_id=tid)
        queue = queue_for(cp)
        while len(await queue.items("claimed")) < 4:  # noqa: ASYNC110 - as above
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the victim is inside the slow step
        survivor = spawn(url, 4, BENCH_SLOW="0")
        await asyncio.sleep(2.0)  # the survivor is up and idle
        victim.send_signal(signal.SIGKILL)
        killed = time.time()
        victim.wait(10)
        while True:
            found = [await cp.get(t) for t in ids]
            begun = [s.values["started"] for s in found if s is not None]
            if begun:
                return min(begun) - killed
            await asyncio.sleep(0.01)
    finally:
        for p in (victim, survivor):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)
        await cp.aclose()
        await drop(kind, url)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=600)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--backends", default="sqlite,postgres,redis")
    parser.add_argument("--no-takeover", action="store_true")
    parser.add_argument("--concurrency", type=int, default=16, help="runs at once per worker")
    parser.add_argument(
        "--answer", choices=["inbox", "submit"], default="inbox", help="how answers are given"
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="also print the CPU time per run of this driver, the workers and the store "
        "server (from /proc; the server must run on this machine)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure each case this many times and print the median (and the range)",
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.backends.split(","):
            for n in counts:
                tries = [
                    await throughput(kind, n, args.runs, tmp, args.answer, args.concurrency)
                    for _ in range(args.repeat)
                ]
                got = {k: statistics.median(t[k] for t in tries) for k in tries[0]}
                rates = sorted(t["runs/s"] for t in tries)
                spread = f" ({rates[0]:.0f}-{rates[-1]:.0f})" if len(rates) > 1 else ""
                print(
                    f"{kind:9} {n} workers: {got['runs/s']:7.1f} runs/s{spread}   "
                    f"answer->resume under load median {got['median ms']:6.1f} ms "
                    f"p99 {got['p99 ms']:6.1f} ms; idle median {got['idle median ms']:5.1f} ms "
                    f"p99 {got['idle p99 ms']:5.1f} ms",
                    flush=True,
                )
                if args.cpu:
                    print(
                        f"{'':9} CPU per run: driver {got['driver cpu ms']:.2f} ms, workers "
                        f"{got['workers cpu ms']:.2f} ms, {kind} server "
                        f"{got['server cpu ms']:.2f} ms",
                        flush=True,
                    )
            if not args.no_takeover:
                print(f"{kind:9} takeover after SIGKILL: {await takeover(kind, tmp):.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
