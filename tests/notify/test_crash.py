"""A process killed after the pause but before delivery: the notice still goes out."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from receivers import webhook_receiver

from locus.checkpoint.sqlite import SQLiteCheckpointer
from locus.notify import Notifications, WebhookNotifier

WORKER = Path(__file__).parent / "crash_worker.py"


@pytest.mark.parametrize("stage", ["paused", "scanned"])
async def test_a_process_killed_before_delivery_still_delivers_after_restart(
    tmp_path: Path, stage: str
) -> None:
    db = str(tmp_path / "crash.db")
    with webhook_receiver("k") as receiver:
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(WORKER), db, stage, receiver.url],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert done.stdout == "paused\n"
        assert receiver.received == []
        async with SQLiteCheckpointer(db) as cp:
            notes = Notifications(cp, [WebhookNotifier("ops", receiver.url, secret="k")])
            assert await notes.run_once() == 1
            assert await notes.run_once() == 0
    assert [b["thread_id"] for b in receiver.received] == ["c-1"]
