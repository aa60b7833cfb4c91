"""Stored threads: a failure names its culprit and leaves the thread as it was, unlocked.

Each test runs against memory, SQLite, PostgreSQL and Redis (the ``backend`` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
from checkpoint_backends import Backend

from locus.agent.approval import ToolApprovalAnswer
from locus.checkpoint import Checkpointer
from locus.core import Command, interrupt
from locus.core.schema import json_schema_of
from locus.errors import CheckpointUsageError, ReducerError, SchemaVersionError
from locus.multiagent import END, START, StateGraph
from locus.multiagent.run_state import MARKER_VERSION


def tagging_graph(backend: Backend) -> StateGraph:
    """Two branches append to ``tags`` through a reducer; ``ask`` pauses for its value."""

    def concat(old: list[Any], new: list[Any]) -> list[Any]:
        return old + new  # raises TypeError when an answer is not a list

    graph = StateGraph("tags", reducers={"tags": concat}, checkpointer=backend.make())
    graph.add_node("ask", lambda s: {"tags": interrupt("which tags?")})
    graph.add_node("fixed", lambda s: {"tags": ["fixed"]})
    graph.add_edge(START, "ask").add_edge(START, "fixed")
    graph.add_edge("ask", END).add_edge("fixed", END)
    return graph


async def test_reducer_error_on_resume_leaves_the_thread_paused_and_unlocked(
    backend: Backend,
) -> None:
    paused = await tagging_graph(backend).execute({"tags": ["start"]}, thread_id="r-1")
    assert paused.is_interrupted
    before = await tagging_graph(backend).get_state("r-1")

    with pytest.raises(ReducerError, match=r"key 'tags'.*node '(ask|fixed)'") as info:
        await tagging_graph(backend).execute(Command(resume="not a list"), thread_id="r-1")
    assert info.value.state["tags"] == ["start"]

    after = await tagging_graph(backend).get_state("r-1")
    assert (after.checkpoint, after.status, after.values) == (
        before.checkpoint,
        "paused",
        {"tags": ["start"]},
    )
    # not locked: a corrected answer resumes at once, on another worker
    done = await tagging_graph(backend).execute(Command(resume=["asked"]), thread_id="r-1")
    assert sorted(done.final_state["tags"]) == ["asked", "fixed", "start"]


async def test_stored_run_marker_of_another_version_is_a_schema_version_error(
    backend: Backend,
) -> None:
    cp = backend.make()
    await cp.acquire("old", "writer", lease_seconds=30)
    marker = {"version": MARKER_VERSION + 1, "kind": "interrupt", "shape": "of the future"}
    await cp.put(
        "old",
        "writer",
        changes={"ticket": "T-1"},
        status="paused",
        run=marker,
        pending=[{"id": "i1", "node": "ask", "payload": "?"}],
        graph="asking",
        release=True,
    )
    graph = StateGraph("asking", checkpointer=backend.make())
    ran: list[str] = []
    graph.add_node("ask", lambda s: ran.append("ask")).add_edge(START, "ask").add_edge("ask", END)

    with pytest.raises(SchemaVersionError, match=r"thread 'old'.*run-marker version 2"):
        await graph.execute(Command(resume="yes"), thread_id="old")
    with pytest.raises(SchemaVersionError, match=r"thread 'old'"):
        await graph.get_state("old")
    assert ran == []
    # the failed resume handed its lease back
    assert await backend.make().acquire("old", "another", lease_seconds=30) is not None


async def test_inbox_item_carries_its_answer_schema_before_any_answer(backend: Backend) -> None:
    graph = StateGraph("approvals", checkpointer=backend.make())

    def gate(state: dict[str, Any]) -> dict[str, Any]:
        approval = interrupt({"type": "tool_approval"}, response_schema=ToolApprovalAnswer)
        note = interrupt("any note?") if approval else None
        return {"approved": bool(approval), "note": note}

    graph.add_node("gate", gate).add_edge(START, "gate").add_edge("gate", END)
    await graph.execute({}, thread_id="a-1")

    [item] = (await backend.make().list_pending()).items
    assert item.response_schema == json_schema_of(ToolApprovalAnswer)

    await graph.execute(Command(resume=True), thread_id="a-1")
    [item] = (await backend.make().list_pending()).items
    assert item.payload == "any note?"
    assert item.response_schema is None


async def test_put_keeps_each_pending_response_schema_for_the_inbox(cp: Checkpointer) -> None:
    schema = {"type": "object", "properties": {"$t": {"type": "string"}}}  # a tag-like key
    await cp.acquire("t", "w1", lease_seconds=30)
    await cp.put(
        "t",
        "w1",
        changes={},
        status="paused",
        run={},
        pending=[
            {"id": "typed", "node": "n", "payload": {"q": 1}, "response_schema": schema},
            {"id": "plain", "node": "n", "payload": "?"},
        ],
        graph="g",
    )
    items = {i.interrupt_id: i for i in (await cp.list_pending()).items}
    assert items["typed"].response_schema == schema
    assert items["typed"].payload == {"q": 1}
    assert items["plain"].response_schema is None
    stored = await cp.get("t")
    assert stored is not None and stored.pending[0].get("response_schema") == schema


async def test_pending_response_schema_that_is_not_a_dict_is_refused(cp: Checkpointer) -> None:
    await cp.acquire("t", "w1", lease_seconds=30)
    with pytest.raises(CheckpointUsageError, match=r"pending\[0\].*'response_schema'"):
        await cp.put(
            "t",
            "w1",
            changes={},
            status="paused",
            run={},
            pending=[{"id": "i", "node": "n", "payload": 1, "response_schema": "yes|no"}],
            graph="g",
        )
