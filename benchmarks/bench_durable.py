"""Durable graph runs per backend: pauses/s and resumes/s, a fresh process's resume, bytes.

Run from the repository root:

    python benchmarks/bench_durable.py [--threads 1000] [--concurrency 32]

A pause is ``graph.execute(inputs, thread_id=...)`` on a three-node graph (prepare ->
approve, which interrupts -> act) until it pauses: the lease, a checkpoint of the input, one
after ``prepare`` and the paused one. A resume is ``graph.execute(Command(resume=...),
thread_id=...)`` to the end: the lease, the answer made durable, ``approve`` and ``act``.
``--concurrency`` executions run at once (asyncio tasks in one process), as a server
handling many tickets would. SQLite runs in WAL mode with synchronous=FULL for checkpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from locus.checkpoint import Checkpointer, MemoryCheckpointer, SQLiteCheckpointer  # noqa: E402
from locus.core import Command, interrupt  # noqa: E402
from locus.multiagent import END, START, StateGraph  # noqa: E402

POSTGRES_DSN = os.environ.get(
    "LOCUS_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LOCUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def approval_graph(checkpointer: Checkpointer) -> StateGraph:
    graph = StateGraph("bench-approval", checkpointer=checkpointer)

    async def prepare(state: dict[str, Any]) -> dict[str, Any]:
        return {"amount": 120, "customer": "ada"}

    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        return {"approved": interrupt({"question": "refund?"}) == "yes"}

    async def act(state: dict[str, Any]) -> dict[str, Any]:
        return {"result": "refunded" if state["approved"] else "declined"}

    graph.add_node("prepare", prepare).add_node("approve", approve).add_node("act", act)
    graph.add_edge(START, "prepare").add_edge("prepare", "approve")
    graph.add_edge("approve", "act").add_edge("act", END)
    return graph


@asynccontextmanager
async def open_backend(name: str, workdir: Path) -> AsyncIterator[Checkpointer]:
    tag = uuid.uuid4().hex[:10]
    if name == "memory":
        yield MemoryCheckpointer()
    elif name == "sqlite":
        async with SQLiteCheckpointer(workdir / f"{tag}.db") as cp:
            yield cp
    elif name == "postgres":
        import psycopg

        from locus.checkpoint import PostgresCheckpointer

        schema = f"locus_bench_{tag}"
        try:
            async with PostgresCheckpointer(POSTGRES_DSN, schema=schema, max_size=32) as cp:
                yield cp
        finally:
            async with await psycopg.AsyncConnection.connect(POSTGRES_DSN, autocommit=True) as c:
                await c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    else:
        import redis.asyncio as aredis

        from locus.checkpoint import RedisCheckpointer

        prefix = f"locus-bench:{tag}:"
        try:
            async with RedisCheckpointer(REDIS_URL, prefix=prefix) as cp:
                yield cp
        finally:
            client = aredis.Redis.from_url(REDIS_URL)
            keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()


async def per_second(count: int, concurrency: int, job: Callable[[int], Awaitable[Any]]) -> float:
    todo = iter(range(count))

    async def worker() -> None:
        for i in todo:
            await job(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - start)


async def throughput(name: str, workdir: Path, threads: int, concurrency: int) -> str:
    async with open_backend(name, workdir) as cp:
        graph = approval_graph(cp)
        tag = uuid.uuid4().hex[:6]

        async def pause(i: int) -> None:
            result = await graph.execute({"ticket": i}, thread_id=f"{tag}-{i}")
            assert result.is_interrupted

        async def resume(i: int) -> None:
            result = await graph.execute(Command(resume="yes"), thread_id=f"{tag}-{i}")
            assert result.final_state["result"] == "refunded"

        pauses = await per_second(threads, concurrency, pause)
        resumes = await per_second(threads, concurrency, resume)
    return f"{name:<9} workers={concurrency:<3} pauses/s={pauses:8,.0f}  resumes/s={resumes:8,.0f}"


# The whole program a worker runs to answer one paused ticket: imports, the graph (the same
# shape as approval_graph), the resume. Self-contained, so nothing else is imported.
RESUME_SCRIPT = """
import asyncio, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from locus.checkpoint import SQLiteCheckpointer
from locus.core import Command, interrupt
from locus.multiagent import END, START, StateGraph

def approval_graph(cp):  # the same code as the process that paused (its fingerprint)
    graph = StateGraph("bench-approval", checkpointer=cp)
    async def prepare(state): return {{"amount": 120, "customer": "ada"}}
    async def approve(state): return {{"approved": interrupt({{"question": "refund?"}}) == "yes"}}
    async def act(state): return {{"result": "refunded" if state["approved"] else "declined"}}
    graph.add_node("prepare", prepare).add_node("approve", approve).add_node("act", act)
    graph.add_edge(START, "prepare").add_edge("prepare", "approve")
    graph.add_edge("approve", "act").add_edge("act", END)
    return graph

async def main():
    async with SQLiteCheckpointer({db!r}) as cp:
        graph = approval_graph(cp)
        result = await graph.execute(Command(resume="yes"), thread_id={thread!r})
        assert result.final_state["result"] == "refunded"

asyncio.run(main())
print((time.perf_counter() - t0) * 1e3)
"""


async def fresh_process_resume_ms(workdir: Path, runs: int = 5) -> tuple[float, float]:
    """Best of ``runs``: (wall ms of the whole process, ms inside it from import to done)."""
    db = workdir / "fresh.db"
    async with SQLiteCheckpointer(db) as cp:
        for i in range(runs):
            await approval_graph(cp).execute({"ticket": i}, thread_id=f"fresh-{i}")
    walls, insides = [], []
    for i in range(runs):
        script = RESUME_SCRIPT.format(root=str(ROOT), db=str(db), thread=f"fresh-{i}")
        start = time.perf_counter()
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", script], capture_output=True, text=True
        )
        walls.append((time.perf_counter() - start) * 1e3)
        if done.returncode != 0:
            raise RuntimeError(f"the resuming process failed: {done.stderr}")
        insides.append(float(done.stdout.strip()))
    return min(walls), min(insides)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--backends", default="memory,sqlite,postgres,redis")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print(f"durable graph runs, {args.threads} threads per run")
        for name in args.backends.split(","):
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                print(await throughput(name, workdir, args.threads, concurrency), flush=True)
        wall, inside = await fresh_process_resume_ms(workdir)
        print(
            f"fresh process resuming one paused SQLite thread (best of 5): {wall:.0f} ms wall "
            f"({inside:.0f} ms from its first import to done)"
        )


if __name__ == "__main__":
    asyncio.run(main())
