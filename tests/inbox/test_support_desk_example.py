"""The support desk's reviewer example runs offline, unattended, end to end."""

from __future__ import annotations

from tests.example_runner import run_example


def test_review_desk_example_notifies_answers_over_http_and_finishes() -> None:
    done = run_example("examples/07_support_desk/review_desk.py")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "webhook got: ['asked: Review the reply to Bo', 'asked: Run tool issue_refund?']" in out
    assert "refunded: True" in out
    assert "audit chain verified: True" in out
