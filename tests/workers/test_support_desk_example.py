"""examples/07_support_desk/run.py runs offline, worker process and CLI included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_support_desk_example_submits_50_tickets_and_answers_three() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LOCUS_STORE", None)
    done = subprocess.run(
        [sys.executable, "examples/07_support_desk/run.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "37 tickets answered, 13 refunds wait" in out
    assert ": no -> declined" in out
    assert "39 replies sent, each once; 10 refunds still wait" in out
