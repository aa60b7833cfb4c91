"""Approvals outside a graph: the run stops with its pending calls and a JSON state, and
``agent.resume`` continues it (here, in another process too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from standalone_agent import make_agent

from locus.agent import Agent
from locus.agent.pause import STATE_SCHEMA_VERSION, AgentRunState
from locus.core import Command
from locus.core.events import TerminateEvent, ToolResultEvent
from locus.errors import (
    InvalidAgentStateError,
    InvalidResumeValueError,
    MissingResumeError,
    SchemaVersionError,
    UnknownInterruptError,
)
from locus.models import MockModel
from locus.models.mock import tool_call
from locus.multiagent import END, START, StateGraph

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("standalone_agent.py")
FIXTURE = Path(__file__).with_name("fixtures") / f"agent_run_state_v{STATE_SCHEMA_VERSION}.json"


@pytest.fixture
def tool_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "tools.log"
    monkeypatch.setenv("LOCUS_TOOL_LOG", str(log))
    return log


def ran(log: Path) -> list[str]:
    """What the tools did, sorted: the tools of one turn run concurrently."""
    if not log.exists():
        return []
    return sorted(line.rsplit(" pid=", 1)[0] for line in log.read_text().splitlines())


def pids(log: Path) -> set[int]:
    return {int(line.rsplit("pid=", 1)[1]) for line in log.read_text().splitlines()}


def resume_in_another_process(state_file: Path, approvals: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(WORKER), str(state_file), json.dumps(approvals)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def turn_of_three() -> MockModel:
    """One turn asking for a lookup and two approvals, then (if asked again) a summary."""
    return MockModel(
        script=[
            [
                tool_call("lookup_order", order_id="A-1"),
                tool_call("issue_refund", order_id="A-1", amount=30),
                tool_call("close_account", customer="ann", all_orders=True),
            ],
            "Summary.",
        ]
    )


async def test_standalone_run_stops_for_two_approvals_before_running_any_tool(
    tool_log: Path,
) -> None:
    result = await make_agent(turn_of_three()).arun("Refund A-1 and close my account")

    assert result.stop_reason == "paused"
    assert result.paused is True
    assert ran(tool_log) == []
    pending = result.pending_approvals
    assert [(p.tool, p.arguments) for p in pending] == [
        ("issue_refund", {"order_id": "A-1", "amount": 30}),
        ("close_account", {"customer": "ann", "all_orders": True}),
    ]
    calls = result.messages[-1].tool_calls
    assert [p.call_id for p in pending] == [calls[1].id, calls[2].id]
    assert all(p.agent_id == "desk" for p in pending)
    assert {"type": "boolean"} in pending[0].response_schema["anyOf"]
    end = result.events[-1]
    assert isinstance(end, TerminateEvent)
    assert end.stop_reason == "paused"
    assert end.pending_approvals == pending
    assert end.state == result.state


async def test_state_as_json_resumes_in_another_process_each_tool_once_model_not_reasked(
    tool_log: Path, tmp_path: Path
) -> None:
    model = turn_of_three()
    paused = await make_agent(model).arun("Refund A-1 and close my account")
    assert paused.state is not None
    state_file = tmp_path / "state.json"
    state_file.write_text(paused.state.to_json())
    refund, close = (p.call_id for p in paused.pending_approvals)
    approvals = {refund: "approve", close: {"approved": False, "message": "Keep it open."}}

    out = resume_in_another_process(state_file, approvals)

    # the resuming process asked its model once, for the answer after the tool results
    assert out["model_calls"] == 1
    assert out["text"] == "All done."
    assert out["tool_results_sent"] == [
        "order A-1: delivered",
        "refunded $30 on A-1",
        "Keep it open.",
    ]
    assert out["iterations"] == 2
    assert ran(tool_log) == sorted(["lookup_order A-1", "issue_refund A-1 30"])
    assert os.getpid() not in pids(tool_log)
    assert len(model.requests) == 1


async def test_approved_with_edited_arguments_runs_with_them(tool_log: Path) -> None:
    model = turn_of_three()
    agent = make_agent(model)
    paused = await agent.arun("go")
    refund, close = (p.call_id for p in paused.pending_approvals)

    done = await agent.resume(
        paused.state,  # type: ignore[arg-type]
        approvals={refund: {"approved": True, "arguments": {"order_id": "A-1", "amount": 10}},
                   close: True},
    )  # fmt: skip

    assert done.stop_reason == "complete"
    assert done.text == "Summary."
    assert ran(tool_log) == sorted(["lookup_order A-1", "issue_refund A-1 10", "close_account ann"])
    results = [e.content for e in done.events if isinstance(e, ToolResultEvent)]
    assert results == ["order A-1: delivered", "refunded $10 on A-1", "closed ann"]
    assert len(model.requests) == 2


async def test_a_resumed_run_can_stop_for_approval_again(tool_log: Path) -> None:
    model = MockModel(
        script=[
            tool_call("issue_refund", order_id="A-1", amount=5),
            tool_call("issue_refund", order_id="A-2", amount=7),
            "Both refunded.",
        ]
    )
    agent = make_agent(model)
    first = await agent.arun("refund both")
    [one] = first.pending_approvals

    second = await agent.resume(first.state.to_json(), approvals={one.call_id: True})  # type: ignore[union-attr]

    assert second.paused
    [two] = second.pending_approvals
    assert two.arguments == {"order_id": "A-2", "amount": 7}
    assert two.call_id != one.call_id
    done = await agent.resume(second.state, approvals={two.call_id: "yes"})  # type: ignore[arg-type]
    assert done.text == "Both refunded."
    assert ran(tool_log) == ["issue_refund A-1 5", "issue_refund A-2 7"]


async def test_bad_answers_are_refused_and_nothing_runs(tool_log: Path) -> None:
    agent = make_agent(turn_of_three())
    paused = await agent.arun("go")
    state = paused.state
    assert state is not None
    refund, close = (p.call_id for p in paused.pending_approvals)

    with pytest.raises(MissingResumeError, match="close_account"):
        await agent.resume(state, approvals={refund: True})
    with pytest.raises(UnknownInterruptError, match="not pending"):
        await agent.resume(state, approvals={refund: True, close: True, "call_x": True})
    with pytest.raises(InvalidResumeValueError, match=refund):
        await agent.resume(state, approvals={refund: "maybe", close: True})
    other = Agent(agent_id="other", model="mock")
    with pytest.raises(InvalidAgentStateError, match="'desk'"):
        await other.resume(state, approvals={refund: True, close: True})

    assert ran(tool_log) == []


def test_state_json_with_another_version_or_shape_is_refused() -> None:
    document = json.loads(FIXTURE.read_text())

    with pytest.raises(SchemaVersionError, match="2"):
        AgentRunState.from_json({**document, "$schemaVersion": 2})
    with pytest.raises(InvalidAgentStateError, match="not an agent run state"):
        AgentRunState.from_json({"messages": []})
    with pytest.raises(InvalidAgentStateError, match="iterations"):
        AgentRunState.from_json({**document, "iterations": -1})
    stray = [{**document["pending"][0], "call_id": "z"}]
    with pytest.raises(InvalidAgentStateError, match="did not ask for"):
        AgentRunState.from_json({**document, "pending": stray})
    with pytest.raises(InvalidAgentStateError, match="JSON"):
        AgentRunState.from_json("{not json")


async def test_frozen_v1_state_still_resumes(tool_log: Path) -> None:
    model = MockModel(script=["Refund issued."])
    state = AgentRunState.from_json(FIXTURE.read_text())
    [pending] = state.pending

    done = await make_agent(model).resume(state, approvals={pending.call_id: True})

    assert done.text == "Refund issued."
    assert ran(tool_log) == sorted(["lookup_order A-9", "issue_refund A-9 12"])
    assert len(model.requests) == 1
    # written again today (new optional fields may appear), it reads back the same
    assert AgentRunState.from_json(state.to_json()) == state


async def test_inside_a_graph_node_the_graph_pauses_as_before(tool_log: Path) -> None:
    agent = make_agent(turn_of_three())

    async def node(state: dict[str, Any]) -> dict[str, Any]:
        result = await agent.arun("go")
        return {"reply": result.text, "stop": result.stop_reason}

    graph = StateGraph("desk")
    graph.add_node("desk", node).add_edge(START, "desk").add_edge("desk", END)

    paused = await graph.execute({})
    assert [i.interrupt.payload["tool"] for i in paused.interrupts] == [
        "issue_refund",
        "close_account",
    ]
    answers = {i.interrupt.id: True for i in paused.interrupts}
    done = await graph.execute(Command(update=paused.final_state, resume_by_id=answers))

    assert done.final_state["stop"] == "complete"
    assert ran(tool_log) == sorted(["lookup_order A-1", "issue_refund A-1 30", "close_account ann"])


async def test_a_paused_terminate_event_logged_as_json_still_resumes(tool_log: Path) -> None:
    from locus.core.events import parse_event

    agent = make_agent(
        MockModel(script=[tool_call("issue_refund", order_id="A-3", amount=4), "ok"])
    )
    paused = await agent.arun("refund A-3")
    logged = parse_event(paused.events[-1].model_dump_json())
    assert isinstance(logged, TerminateEvent)
    [pending] = logged.pending_approvals

    done = await agent.resume(logged.state, approvals={pending["call_id"]: True})

    assert done.text == "ok"
    assert ran(tool_log) == ["issue_refund A-3 4"]
