"""Run as a process: pause a graph on a SQLite store, optionally schedule its notice, then
die with SIGKILL before anything is delivered."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "inbox" / "web"))

from support import choice_graph

from locus.checkpoint.sqlite import SQLiteCheckpointer
from locus.notify import Notifications, WebhookNotifier


async def main(db: str, stage: str, url: str) -> None:
    cp = SQLiteCheckpointer(db)
    await choice_graph(cp).execute({}, thread_id="c-1")
    if stage == "scanned":
        notes = Notifications(cp, [WebhookNotifier("ops", url, secret="k")])
        assert await notes.scan() == 1
    print("paused", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
