"""07 — A support desk on workers: submit 50 tickets, a worker runs them, a manager answers.

    python examples/07_support_desk/run.py                      # SQLite, offline
    pip install -e '.[postgres]'                                # then, on PostgreSQL:
    LOCUS_STORE=postgresql://localhost/desk python examples/07_support_desk/run.py

What it does, each step a command you could run yourself in another terminal:

1. submits 50 tickets (``graph.submit``: stored as ready, nothing runs here);
2. starts a worker: ``locus worker desk:graph --store URL --concurrency 8``;
3. waits for every ticket to finish or pause: refunds over $100 wait for a manager;
4. lists them: ``locus threads list --status paused --store URL``;
5. a manager answers three of them from the command line (``locus inbox answer ID yes
   --as maria``; approves two, declines one): the answers are stored with who gave them,
   the worker resumes those threads and finishes them; the rest stay in the inbox
   (``locus threads audit T-036`` shows the trail);
6. stops the worker with SIGTERM (it finishes what it holds first).

Every reply is written to ``.locus/support_desk_outbox.txt`` once (``once()``), whichever
worker sends it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT)]

from desk import build  # noqa: E402

from locus.checkpoint import connect  # noqa: E402

STATE = ROOT / ".locus"
DEFAULT_STORE = f"sqlite:///{STATE / 'support_desk.db'}"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
ENV["DESK_OUTBOX"] = str(STATE / "support_desk_outbox.txt")


def locus(*args: str) -> str:
    """Run a ``locus`` command as a user would (``LOCUS_STORE`` set), return its output."""
    done = subprocess.run(
        [sys.executable, "-m", "locus", *args], env=ENV, capture_output=True, text=True, check=True
    )
    return done.stdout


def fresh_start(store: str) -> None:
    """Start afresh each run: the demo database (when it is ours) and the outbox."""
    if store == DEFAULT_STORE:
        shutil.rmtree(STATE / "support_desk.db-workers", ignore_errors=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(STATE / "support_desk.db") + suffix).unlink(missing_ok=True)
    Path(ENV["DESK_OUTBOX"]).unlink(missing_ok=True)
    os.environ["DESK_OUTBOX"] = ENV["DESK_OUTBOX"]


def start_worker(store: str) -> subprocess.Popen[bytes]:
    """``locus worker desk:graph --store URL --concurrency 8``, as another terminal would."""
    command = ["locus", "worker", "desk:graph", "--store", store, "--concurrency", "8"]
    return subprocess.Popen(
        [sys.executable, "-m", *command, "--log-level", "WARNING"], env=ENV, cwd=HERE
    )


def replies_sent() -> int:
    return len(Path(ENV["DESK_OUTBOX"]).read_text().splitlines())


async def main() -> None:
    store = os.environ.get("LOCUS_STORE") or DEFAULT_STORE
    ENV["LOCUS_STORE"] = store
    fresh_start(store)
    cp = connect(store)
    graph = build()
    graph.compile(checkpointer=cp)

    print("1. submitting 50 tickets")
    tickets = []
    for i in range(50):
        kind = ["refund", "crash", "question"][i % 3]
        text = {"refund": "please refund me", "crash": "the app crashed", "question": "how?"}
        amount = 40 + 37 * i % 300
        tid = await graph.submit(
            {"ticket": f"T-{i:03}", "text": text[kind], "amount": amount},
            thread_id=f"T-{i:03}",
            priority=1 if amount > 200 else 0,
        )
        tickets.append(tid)

    print("2. starting: locus worker desk:graph --store URL --concurrency 8")
    worker = start_worker(store)
    try:
        states = [await graph.result(tid, timeout=60) for tid in tickets]
        paused = [s.thread_id for s in states if s.status == "paused"]
        print(f"3. {len(states) - len(paused)} tickets answered, {len(paused)} refunds wait")

        print("4. locus threads list --status paused")
        print(locus("threads", "list", "--status", "paused"))

        print("5. a manager answers three of them: locus inbox answer ID yes --as maria")
        listed = json.loads(locus("--json", "inbox", "list", "--graph", "support_desk"))
        for item, answer in zip(listed["items"][:3], ["yes", "yes", "no"], strict=True):
            # stored with who gave it, nothing run here; a worker resumes the thread
            locus("inbox", "answer", item["id"], answer, "--as", "maria", "--roles", "manager")
            done = await graph.result(item["thread_id"], timeout=60)
            print(f"   {item['thread_id']}: {answer} -> {done.values['sent']}")
    finally:
        print("6. stopping the worker (SIGTERM)")
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
        await cp.aclose()
    print(f"{replies_sent()} replies sent, each once; {len(paused) - 3} refunds still wait")


if __name__ == "__main__":
    asyncio.run(main())
