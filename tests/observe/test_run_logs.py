"""locus.* loggers: one line per significant event, with thread/graph/node/interrupt fields;
silent by default; nothing secret or prompt-like at INFO."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from locus.checkpoint import SQLiteCheckpointer
from locus.core import Command, interrupt
from locus.errors import AnswerNotAllowedError, RateLimitError, ResumeConflictError
from locus.inbox import Actor, Answerers, Inbox
from locus.models.retry import RetryPolicy, call_with_retries
from locus.multiagent import END, START, StateGraph


def approval_graph(checkpointer: Any = None) -> StateGraph:
    async def prepare(state: dict[str, Any]) -> dict[str, Any]:
        return {"amount": 120}

    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        return {"approved": interrupt({"question": "Refund $120?"}) == "yes"}

    graph = StateGraph("refunds", checkpointer=checkpointer)
    graph.add_node("prepare", prepare).add_node("approve", approve)
    graph.add_edge(START, "prepare").add_edge("prepare", "approve").add_edge("approve", END)
    return graph


def test_the_locus_logger_is_silent_by_default() -> None:
    import locus.observe.logs  # noqa: F401

    handlers = logging.getLogger("locus").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


async def test_run_start_pause_resume_and_finish_are_logged_with_fields(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.INFO, logger="locus")
    graph = approval_graph(SQLiteCheckpointer(str(tmp_path / "l.db")))

    paused = await graph.execute({"ticket": "T-1"}, thread_id="t-1")
    await graph.execute(Command(resume="yes"), thread_id="t-1")

    iid = paused.interrupts[0].interrupt.id
    lines = [(r.name, r.getMessage()) for r in caplog.records]
    messages = [m for _, m in lines]
    assert any("started" in m for m in messages)
    assert any(f"paused at node 'approve': interrupt {iid}" in m for m in messages)
    assert any(f"interrupt {iid} at node 'approve' answered" in m for m in messages)
    assert any("resumed" in m for m in messages)
    assert any("finished after 2 steps" in m for m in messages)
    assert {name for name, _ in lines} == {"locus.graph"}
    pause = next(r for r in caplog.records if "paused at" in r.getMessage())
    assert (pause.graph, pause.thread_id, pause.node, pause.interrupt_id) == (  # type: ignore[attr-defined]
        "refunds",
        "t-1",
        "approve",
        iid,
    )
    assert all(r.thread_id == "t-1" for r in caplog.records)  # type: ignore[attr-defined]


async def test_a_lease_conflict_is_logged(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.INFO, logger="locus")
    checkpointer = SQLiteCheckpointer(str(tmp_path / "l.db"))
    graph = approval_graph(checkpointer)
    await graph.execute({}, thread_id="t-2")
    await checkpointer.acquire("t-2", "someone-else", lease_seconds=60)

    with pytest.raises(ResumeConflictError):
        await graph.execute(Command(resume="yes"), thread_id="t-2")

    (record,) = [r for r in caplog.records if r.name == "locus.checkpoint"]
    assert "'t-2'" in record.getMessage()
    assert record.thread_id == "t-2"  # type: ignore[attr-defined]


async def test_a_retry_is_logged_with_its_delay_and_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="locus")
    attempts: list[int] = []
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def call() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RateLimitError("slow down", provider="openai", status_code=429, retry_after=2.0)
        return "ok"

    policy = RetryPolicy(max_attempts=2, jitter=0.0, sleep=sleep)
    assert await call_with_retries(
        call, policy=policy, classify=lambda e: None, provider="openai:x"
    )

    (record,) = [r for r in caplog.records if r.name == "locus.models.retry"]
    assert record.retry_delay == 2.0  # type: ignore[attr-defined]
    assert record.cause == "RateLimitError"  # type: ignore[attr-defined]
    assert "retrying in 2.00s" in record.getMessage()


def manager_graph(checkpointer: Any) -> StateGraph:
    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        secret = "refund card 4111-1111"
        answer = interrupt(
            {"question": f"Refund? {secret}"}, answerers=Answerers(roles={"manager"})
        )
        return {"approved": answer == "approve-7731"}

    graph = StateGraph("refunds", checkpointer=checkpointer)
    graph.add_node("approve", approve)
    graph.add_edge(START, "approve").add_edge("approve", END)
    return graph


def _info_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.levelno >= logging.INFO
    )


async def test_a_direct_resume_logs_the_actor_and_roles_but_not_the_answer(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    graph = manager_graph(SQLiteCheckpointer(str(tmp_path / "l.db")))
    paused = await graph.execute({}, thread_id="t-3")
    iid = paused.interrupts[0].interrupt.id
    caplog.set_level(logging.INFO, logger="locus")

    alice = Actor("alice", roles=frozenset({"manager", "billing"}))
    await graph.execute(Command(resume="approve-7731", actor=alice), thread_id="t-3")

    (record,) = [r for r in caplog.records if "answered" in r.getMessage()]
    assert record.name == "locus.graph"
    assert f"interrupt {iid} at node 'approve' answered by 'alice'" in record.getMessage()
    assert (record.actor, record.actor_roles) == ("alice", ["billing", "manager"])  # type: ignore[attr-defined]
    assert record.interrupt_id == iid  # type: ignore[attr-defined]
    text = _info_text(caplog)
    assert "approve-7731" not in text
    assert "4111" not in text


async def test_an_inbox_answer_and_the_resume_it_feeds_log_the_actor(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    checkpointer = SQLiteCheckpointer(str(tmp_path / "l.db"))
    graph = manager_graph(checkpointer)
    paused = await graph.execute({}, thread_id="t-4")
    iid = paused.interrupts[0].interrupt.id
    caplog.set_level(logging.INFO, logger="locus")
    inbox = Inbox(checkpointer)

    with pytest.raises(AnswerNotAllowedError):
        await inbox.answer(iid, "approve-7731", actor=Actor("bob", roles=frozenset({"agent"})))
    await inbox.answer(iid, "approve-7731", actor=Actor("carol", roles=frozenset({"manager"})))
    await graph.execute(None, thread_id="t-4")

    inbox_records = [r for r in caplog.records if r.name == "locus.inbox"]
    assert [(r.actor, r.actor_roles) for r in inbox_records] == [  # type: ignore[attr-defined]
        ("bob", ["agent"]),
        ("carol", ["manager"]),
    ]
    assert "refused (AnswerNotAllowedError)" in inbox_records[0].getMessage()
    assert "stored; the thread is ready to resume" in inbox_records[1].getMessage()
    assert all(r.interrupt_id == iid and r.node == "approve" for r in inbox_records)  # type: ignore[attr-defined]
    (resumed,) = [r for r in caplog.records if "with the answer stored" in r.getMessage()]
    assert "by 'carol' (roles: manager)" in resumed.getMessage()
    assert (resumed.thread_id, resumed.actor) == ("t-4", "carol")  # type: ignore[attr-defined]
    text = _info_text(caplog)
    assert "approve-7731" not in text
    assert "4111" not in text
