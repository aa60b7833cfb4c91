"""Models stored by one OS process are restored by another only once it registers them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("typed_worker.py")
ROOT = str(Path(__file__).parents[2])


def spawn(target: tuple[str, str], mode: str, thread: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *target, mode, thread, ROOT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def run(target: tuple[str, str], mode: str, thread: str) -> dict[str, Any]:
    proc = spawn(target, mode, thread)
    out, err = await asyncio.to_thread(proc.communicate, timeout=60)
    assert proc.returncode == 0, err
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


async def test_a_process_restores_a_stored_model_only_once_it_registers_its_class(
    target: tuple[str, str],
) -> None:
    assert await run(target, "start", "t-1") == {"status": "paused", "verdict": None}
    refused = await run(target, "resume", "t-1")
    assert refused["error"] == "UnknownStoredTypeError"
    assert "names the class 'checkpoint_samples:" in refused["message"]
    assert "'t-1'" in refused["message"]
    assert "types=" in refused["message"]
    resumed = await run(target, "resume-typed", "t-1")
    assert resumed == {"status": "done", "verdict": "Ticket Priority.HIGH: yes"}
