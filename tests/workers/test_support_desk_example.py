"""examples/07_support_desk/run.py runs offline, worker process and CLI included."""

from __future__ import annotations

from tests.example_runner import run_example


def test_support_desk_example_submits_50_tickets_and_answers_three() -> None:
    done = run_example("examples/07_support_desk/run.py", timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "37 tickets answered, 13 refunds wait" in out
    assert ": no -> declined" in out
    assert "39 replies sent, each once; 10 refunds still wait" in out
