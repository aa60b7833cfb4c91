"""The support desk's reviewer example runs offline, unattended, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_review_desk_example_notifies_answers_over_http_and_finishes() -> None:
    env = {**os.environ, "LOCUS_MODEL_PROVIDER": "mock", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "examples/07_support_desk/review_desk.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = done.stdout
    assert "webhook got: ['asked: Review the reply to Bo', 'asked: Run tool issue_refund?']" in out
    assert "refunded: True" in out
    assert "audit chain verified: True" in out
