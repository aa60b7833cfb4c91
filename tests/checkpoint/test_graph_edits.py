"""Editing and forking stored threads: update_state and fork, on every backend."""

from __future__ import annotations

import operator
from typing import Any

import pytest
from checkpoint_backends import Backend

from locus.core import Command, interrupt
from locus.errors import (
    GraphDefinitionError,
    GraphMismatchError,
    InvalidInputError,
    ResumeConflictError,
    StateSerializationError,
    ThreadNotFoundError,
)
from locus.multiagent import END, START, StateGraph


def refunds(backend: Backend, name: str = "refunds") -> StateGraph:
    graph = StateGraph(name, checkpointer=backend.make(), reducers={"notes": operator.add})

    def prepare(state: dict[str, Any]) -> dict[str, Any]:
        return {"amount": 40, "notes": ["prepared"]}

    def approve(state: dict[str, Any]) -> dict[str, Any]:
        return {"approved": interrupt(f"refund {state['amount']}?") == "yes"}

    def act(state: dict[str, Any]) -> dict[str, Any]:
        return {"paid": state["amount"] if state["approved"] else 0}

    graph.add_node("prepare", prepare).add_node("approve", approve).add_node("act", act)
    graph.add_edge(START, "prepare").add_edge("prepare", "approve")
    graph.add_edge("approve", "act").add_edge("act", END)
    return graph


async def test_update_state_corrects_a_paused_thread_before_it_continues(backend: Backend) -> None:
    graph = refunds(backend)
    paused = await graph.execute({}, thread_id="t")
    state = await graph.update_state(
        "t", {"amount": 25, "notes": ["reviewed"]}, as_node="prepare", actor="ana"
    )
    assert state.values["amount"] == 25
    assert state.values["notes"] == ["prepared", "reviewed"]  # through the reducer
    assert [i.interrupt.id for i in state.interrupts] == [paused.interrupts[0].interrupt.id]
    stored = await backend.make().get("t")
    assert stored is not None
    [record] = stored.run["audit"]
    assert (record["kind"], record["actor"], record["keys"]) == (
        "update_state",
        "ana",
        ["amount", "notes"],
    )
    done = await refunds(backend).execute(Command(resume="yes"), thread_id="t")
    assert done.final_state["paid"] == 25
    # the record outlives the execution that continued the thread
    latest = await backend.make().get("t")
    assert latest is not None and latest.run["audit"][0]["actor"] == "ana"


async def test_update_state_is_refused_while_an_execution_holds_the_thread(
    backend: Backend,
) -> None:
    graph = refunds(backend)
    await graph.execute({}, thread_id="t")
    cp = backend.make()
    assert await cp.acquire("t", "someone-else", lease_seconds=30) is not None
    with pytest.raises(ResumeConflictError):
        await graph.update_state("t", {"amount": 1})
    await cp.release("t", "someone-else")
    assert (await graph.get_state("t")).values["amount"] == 40


async def test_update_state_refuses_bad_changes_writing_nothing(backend: Backend) -> None:
    graph = refunds(backend)
    await graph.execute({}, thread_id="t")
    before = (await graph.get_state("t")).checkpoint
    with pytest.raises(StateSerializationError, match="amount"):
        await graph.update_state("t", {"amount": object()})
    with pytest.raises(GraphDefinitionError, match="'nope'"):
        await graph.update_state("t", {"amount": 1}, as_node="nope")
    with pytest.raises(InvalidInputError, match="runtime keys"):
        await graph.update_state("t", {"__model__": 1})
    with pytest.raises(ThreadNotFoundError, match="'ghost'"):
        await graph.update_state("ghost", {"amount": 1})
    with pytest.raises(GraphMismatchError, match="'refunds'"):
        await refunds(backend, name="deploys").update_state("t", {"amount": 1})
    assert (await graph.get_state("t")).checkpoint == before


async def test_fork_starts_a_new_thread_from_an_earlier_checkpoint(backend: Backend) -> None:
    graph = refunds(backend)
    await graph.execute({}, thread_id="t")
    paused_at = (await graph.get_state("t")).checkpoint
    await graph.execute(Command(resume="no"), thread_id="t")
    assert (await graph.get_state("t")).values["paid"] == 0
    forked = await graph.fork("t", checkpoint=paused_at, new_thread_id="t-retry")
    assert forked.thread_id == "t-retry" and forked.status == "paused"
    done = await refunds(backend).execute(Command(resume="yes"), thread_id="t-retry")
    assert done.final_state["paid"] == 40
    # the original is untouched
    original = await graph.get_state("t")
    assert original.values["paid"] == 0 and original.status == "done"
    with pytest.raises(InvalidInputError, match="already exists"):
        await graph.fork("t", checkpoint=paused_at, new_thread_id="t-retry")
    with pytest.raises(ThreadNotFoundError, match="no checkpoint 999"):
        await graph.fork("t", checkpoint=999)
