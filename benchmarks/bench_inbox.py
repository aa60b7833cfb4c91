"""The inbox per backend: inbox.answer and inbox.pending per second, beside a resume.

Run from the repository root:

    python benchmarks/bench_inbox.py [--threads 50000] [--pending 1000] [--concurrency 32]

The store holds ``--threads`` threads of a refund graph: ``--pending`` of them paused at an
approval (with answerers, so each answer checks an actor, and a deadline a day out), the
rest finished. Then:

* ``expire_due ms``: one ``inbox.expire_due()`` pass, as every worker makes every few
  seconds (nothing is due);

* ``pending pages/s``: ``inbox.pending(limit=50)``, the first page, repeatedly;
* ``pending items/s``: every pending item, page by page (``--pending`` items);
* ``answers/s``: ``inbox.answer`` once per pending item (validated, actor checked, stored
  with its audit entry, the thread marked ready), ``--concurrency`` at a time;
* ``resumes/s``: ``graph.execute(None, thread_id=...)`` of each answered thread to the end
  (the lease, the stored answer read, the node, the checkpoints), for comparison;
* ``direct resumes/s``: ``execute(Command(resume=...))`` on a fresh set of pauses, as
  ``bench_durable.py`` measures it.

Use ``--threads 5000 --pending 200`` for a quick run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_durable import open_backend, per_second  # noqa: E402

from locus.checkpoint import Checkpointer  # noqa: E402
from locus.core import Command, interrupt  # noqa: E402
from locus.inbox import Actor, Answerers, Inbox  # noqa: E402
from locus.multiagent import END, START, StateGraph  # noqa: E402

MANAGER = Actor("maria", frozenset({"manager"}))


def desk_graph(checkpointer: Checkpointer) -> StateGraph:
    graph = StateGraph("bench-desk", checkpointer=checkpointer)

    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        if not state.get("ask"):
            return {"approved": True}
        answer = interrupt(
            {"type": "refund", "amount": 1200},
            answerers=Answerers(roles={"manager"}),
            deadline=dt.timedelta(days=1),
            on_timeout="no",
        )
        return {"approved": answer == "yes"}

    graph.add_node("approve", approve).add_edge(START, "approve").add_edge("approve", END)
    return graph


async def measure(name: str, workdir: Path, threads: int, pending: int, workers: int) -> str:
    async with open_backend(name, workdir) as cp:
        graph = desk_graph(cp)
        inbox = Inbox(cp)
        tag = uuid.uuid4().hex[:6]
        finished = threads - pending

        async def fill(i: int) -> None:
            ask = i >= finished
            await graph.execute({"ask": ask}, thread_id=f"{tag}-{i}")

        start = time.perf_counter()
        await per_second(threads, 32, fill)
        filled = time.perf_counter() - start

        async def first_page(_: int) -> None:
            assert len((await inbox.pending(limit=50)).items) == min(50, pending)

        start = time.perf_counter()
        assert await inbox.expire_due() == []
        expire_ms = (time.perf_counter() - start) * 1e3
        pages = await per_second(200, 1, first_page)
        start = time.perf_counter()
        seen, cursor = 0, None
        while True:
            page = await inbox.pending(limit=50, cursor=cursor)
            seen += len(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        items = seen / (time.perf_counter() - start)
        assert seen == pending, (seen, pending)
        ids = [item.id for item in (await inbox.pending(limit=pending)).items]

        async def answer(i: int) -> None:
            assert (await inbox.answer(ids[i], "yes", actor=MANAGER)).complete

        answers = await per_second(len(ids), workers, answer)
        ready = await cp.list_ready("bench-desk", limit=pending)

        async def resume(i: int) -> None:
            result = await graph.execute(None, thread_id=ready[i])
            assert result.final_state["approved"] is True

        resumes = await per_second(len(ready), workers, resume)

        async def pause_again(i: int) -> None:
            await graph.execute({"ask": True}, thread_id=f"{tag}-d{i}")

        await per_second(pending, 32, pause_again)

        async def direct(i: int) -> None:
            command = Command(resume="yes", actor=MANAGER)
            result = await graph.execute(command, thread_id=f"{tag}-d{i}")
            assert result.final_state["approved"] is True

        directs = await per_second(pending, workers, direct)
    return (
        f"{name:<9} threads={threads:,} pending={pending:,} (filled in {filled:.0f} s)  "
        f"expire_due ms={expire_ms:6,.0f}  "
        f"pending pages/s={pages:7,.0f}  pending items/s={items:8,.0f}  "
        f"answers/s={answers:6,.0f}  resumes/s={resumes:6,.0f}  direct resumes/s={directs:6,.0f}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=50_000)
    parser.add_argument("--pending", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--backends", default="memory,sqlite,postgres,redis")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"inbox, {args.concurrency} at a time for answers and resumes")
        for name in args.backends.split(","):
            line = await measure(name, Path(tmp), args.threads, args.pending, args.concurrency)
            print(line, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
