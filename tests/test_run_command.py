"""``locus run`` renders a graph run live, pauses it durably and answers the pause."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FLOWS = """
from locus.core import interrupt
from locus.multiagent import END, START, StateGraph


async def approve(state):
    return {"approved": interrupt({"question": f"Refund {state['ticket']}?"}) == "yes"}


graph = StateGraph("refunds")
graph.add_node("approve", approve).add_edge(START, "approve").add_edge("approve", END)
"""


def locus(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "locus", *args], cwd=cwd, capture_output=True, text=True
    )


def test_run_shows_the_question_then_a_resume_finishes_the_stored_thread(tmp_path: Path) -> None:
    (tmp_path / "flows.py").write_text(FLOWS)
    store = ["--thread", "t-1", "--store", "sqlite:///runs.db"]
    paused = locus(tmp_path, "run", "flows:graph", "--input", '{"ticket": "T-1"}', *store)
    assert paused.returncode == 0, paused.stderr
    assert "paused at approve: Refund T-1?" in paused.stdout
    done = locus(tmp_path, "--json", "run", "flows:graph", "--resume", "yes", *store)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["final_state"]["approved"] is True


def test_run_refuses_inputs_that_are_not_an_object_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "flows.py").write_text(FLOWS)
    refused = locus(tmp_path, "run", "flows:graph", "--input", "[1]")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: --input must be a JSON object of the run's inputs"
