"""A graph paused in one OS process and resumed in another, killed, and raced."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("graph_worker.py")
ROOT = str(Path(__file__).parents[2])


def spawn(
    target: tuple[str, str], effects: Path, *args: str, hang: bool = False
) -> subprocess.Popen[str]:
    env = {**os.environ, "LOCUS_TEST_EFFECTS": str(effects), "LOCUS_TEST_HANG": "1" if hang else ""}
    return subprocess.Popen(
        [sys.executable, str(WORKER), *target, *args, ROOT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


async def run(target: tuple[str, str], effects: Path, *args: str) -> dict[str, Any]:
    proc = spawn(target, effects, *args)
    out, err = await asyncio.to_thread(proc.communicate, timeout=60)
    assert proc.returncode == 0, err
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def ran(effects: Path) -> list[str]:
    return effects.read_text().split() if effects.exists() else []


async def test_pause_in_one_process_and_resume_in_another(
    target: tuple[str, str], tmp_path: Path
) -> None:
    effects = tmp_path / "effects.log"
    first = await run(target, effects, "start", "ticket-1")
    assert first["paused"] == "approve"
    second = await run(target, effects, "resume", "ticket-1", "yes", "0")
    assert second["paused"] is None
    assert second["state"]["result"] == "refunded"
    # the notification was sent once, in the first process, and replayed in the second
    assert ran(effects) == ["prepare", "work", "notify", "act"]


async def test_a_killed_run_continues_from_its_last_completed_step(
    target: tuple[str, str], tmp_path: Path
) -> None:
    effects = tmp_path / "effects.log"
    doomed = spawn(target, effects, "start", "ticket-2", hang=True)
    assert doomed.stdout is not None
    line = await asyncio.to_thread(doomed.stdout.readline)
    assert line.strip() == "hanging", doomed.stderr.read() if doomed.stderr else ""
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    await asyncio.sleep(1.2)  # the dead process's one-second lease runs out
    resumed = await run(target, effects, "continue", "ticket-2")
    assert resumed["paused"] == "approve"
    assert resumed["state"]["amount"] == 120
    # prepare completed before the kill and is not re-run; work was in flight and is
    assert ran(effects) == ["prepare", "work", "work", "notify"]


async def test_two_processes_resuming_one_thread_act_exactly_once(
    target: tuple[str, str], tmp_path: Path
) -> None:
    effects = tmp_path / "effects.log"
    assert (await run(target, effects, "start", "ticket-3"))["paused"] == "approve"
    at = f"{time.time() + 1.5}"
    racers = [spawn(target, effects, "resume", "ticket-3", "yes", at) for _ in range(2)]
    outs = [await asyncio.to_thread(p.communicate, timeout=60) for p in racers]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    errors = sorted(r.get("error", "") for r in results)
    assert errors == ["", "ResumeConflictError"], results
    assert ran(effects).count("act") == 1


NESTED = Path(__file__).with_name("nested_worker.py")


async def test_three_deep_subgraph_paused_in_one_process_resumes_in_another(
    target: tuple[str, str], tmp_path: Path
) -> None:
    effects = tmp_path / "effects.log"

    async def nested(mode: str) -> dict[str, Any]:
        env = {**os.environ, "LOCUS_TEST_EFFECTS": str(effects)}
        proc = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(NESTED), *target, mode, "order-1", ROOT],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result

    assert (await nested("start"))["paused"] == ["refund/approval/approve"]
    done = await nested("resume")
    assert done["paused"] == []
    assert done["state"]["approve"] == "yes"
    # only the paused node ran again, in the second process
    assert ran(effects) == ["intake", "prepare", "check", "approve", "approve"]
