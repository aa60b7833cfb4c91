"""Worker processes for the tests: ``locus worker desk_app:graph`` with knobs set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
LOGS: dict[int, Path] = {}


def spawn_worker(
    url: str, actions: Path, *, concurrency: int = 8, grace: float = 30.0, **knobs: str
) -> subprocess.Popen[str]:
    """Start a worker process serving ``desk_app:graph``; its log goes to a file."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{HERE}{os.pathsep}{ROOT}",
        "DESK_ACTIONS": str(actions),
        **{f"DESK_{k.upper()}": v for k, v in knobs.items()},
    }
    path = actions.with_name(f"worker-{time.monotonic_ns()}.log")
    log = open(path, "w")  # noqa: SIM115 - the child writes it; closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "locus",
            "worker",
            "desk_app:graph",
            "--store",
            url,
            "--concurrency",
            str(concurrency),
            "--grace",
            str(grace),
            "--retry-backoff",
            "0.05",
            "--poll",
            "0.5",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=str(HERE),
    )
    log.close()
    LOGS[proc.pid] = path
    return proc


def log_of(proc: subprocess.Popen[str]) -> str:
    """What a worker process logged so far."""
    return LOGS[proc.pid].read_text()


def actions_of(actions: Path) -> list[tuple[str, str, int, float]]:
    """The side effects taken so far: (what, thread, pid, time)."""
    if not actions.exists():
        return []
    rows = []
    for line in actions.read_text().splitlines():
        what, thread, pid, at = line.split()
        rows.append((what, thread, int(pid), float(at)))
    return rows


def cli_json(url: str, *args: str) -> Any:
    """Run ``locus --json ARGS --store URL`` and return what it printed, parsed."""
    done = subprocess.run(
        [sys.executable, "-m", "locus", "--json", *args, "--store", url],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{ROOT}"},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def stop(*procs: subprocess.Popen[str]) -> None:
    """SIGKILL whatever is still running (test cleanup)."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
