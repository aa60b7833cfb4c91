"""Graphs on a checkpointer: durable pauses by thread id, on every backend.

Each test runs against memory, SQLite, PostgreSQL and Redis (the ``backend`` fixture).
A "worker" is a newly built graph on a new checkpointer over the same store, as another
process would have.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from checkpoint_backends import Backend

from locus.core import Command, interrupt
from locus.errors import (
    InvalidInputError,
    InvalidResumeValueError,
    MissingResumeError,
    NodeExecutionError,
    NothingToResumeError,
    ResumeConflictError,
    ResumeTargetError,
    StateSerializationError,
    ThreadNotFoundError,
    UnknownInterruptError,
)
from locus.multiagent import END, START, StateGraph
from locus.multiagent.run_state import PAUSE_KEY


def refund_graph(backend: Backend, effects: list[str], *, with_act: bool = True) -> StateGraph:
    graph = StateGraph("refunds", checkpointer=backend.make())

    async def prepare(state: dict[str, Any]) -> dict[str, Any]:
        effects.append("prepare")
        return {"amount": 120}

    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        answer = interrupt({"question": f"refund {state['amount']}?"})
        return {"approved": answer == "yes"}

    async def act(state: dict[str, Any]) -> dict[str, Any]:
        effects.append("act")
        await asyncio.sleep(0.05)
        return {"result": "refunded" if state["approved"] else "declined"}

    graph.add_node("prepare", prepare).add_node("approve", approve)
    graph.add_edge(START, "prepare").add_edge("prepare", "approve")
    if with_act:
        graph.add_node("act", act).add_edge("approve", "act").add_edge("act", END)
    else:
        graph.add_edge("approve", END)
    return graph


async def test_pause_then_resume_by_thread_id_on_a_new_worker(backend: Backend) -> None:
    effects: list[str] = []
    paused = await refund_graph(backend, effects).execute({"ticket": "T-1"}, thread_id="t-1")
    assert paused.is_interrupted and paused.thread_id == "t-1"
    done = await refund_graph(backend, effects).execute(Command(resume="yes"), thread_id="t-1")
    assert done.final_state == {
        "ticket": "T-1",
        "amount": 120,
        "approved": True,
        "result": "refunded",
    }
    assert effects == ["prepare", "act"]


async def test_state_and_history_show_values_interrupts_and_next_nodes(backend: Backend) -> None:
    graph = refund_graph(backend, [])
    paused = await graph.execute({"ticket": "T-2"}, thread_id="t-2")
    state = await refund_graph(backend, []).get_state("t-2")
    assert state.status == "paused" and state.is_interrupted
    assert state.values == {"ticket": "T-2", "amount": 120}
    assert state.next == ["approve"]
    assert paused.interrupt is not None
    assert [(i.node_id, i.interrupt.id) for i in state.interrupts] == [
        ("approve", paused.interrupt.interrupt.id)
    ]
    assert state.interrupts[0].interrupt.payload == {"question": "refund 120?"}
    history = await graph.get_state_history("t-2")
    assert [h.checkpoint for h in history] == sorted((h.checkpoint for h in history), reverse=True)
    assert history[-1].values == {"ticket": "T-2", "amount": 120}  # inputs + first step
    assert history[0].status == "paused"
    await graph.execute(Command(resume="no"), thread_id="t-2")
    final = await graph.get_state("t-2")
    assert final.status == "done" and final.next == [] and final.interrupts == []


async def test_inbox_lists_the_pending_interrupt(backend: Backend) -> None:
    graph = refund_graph(backend, [])
    paused = await graph.execute({}, thread_id="inbox-1")
    assert paused.interrupt is not None
    page = await backend.make().list_pending(limit=10)
    rows = [(r.thread_id, r.node, r.interrupt_id, r.graph) for r in page.items]
    assert ("inbox-1", "approve", paused.interrupt.interrupt.id, "refunds") in rows


async def test_runtime_keys_are_never_stored_and_come_back_with_the_update(
    backend: Backend,
) -> None:
    model = object()  # not serializable, and does not need to be
    seen: list[Any] = []
    graph = StateGraph("runtime-keys", checkpointer=backend.make())

    async def ask(state: dict[str, Any]) -> dict[str, Any]:
        seen.append(state.get("__model__"))
        return {"answer": interrupt("?")}

    graph.add_node("ask", ask).add_edge(START, "ask").add_edge("ask", END)
    await graph.execute({"__model__": model, "q": 1}, thread_id="rk")
    stored = await graph.get_state("rk")
    assert "__model__" not in stored.values
    await graph.execute(Command(resume="a", update={"__model__": model}), thread_id="rk")
    assert seen == [model, model]


async def test_the_stored_pause_wins_over_a_snapshot_in_the_update(backend: Backend) -> None:
    effects: list[str] = []
    graph = refund_graph(backend, effects)
    await graph.execute({}, thread_id="auth")
    forged = {PAUSE_KEY: {"version": 1, "frontier": ["act"], "kind": "interrupt_before"}}
    done = await graph.execute(Command(resume="no", update=forged), thread_id="auth")
    assert done.final_state["result"] == "declined"
    assert PAUSE_KEY not in done.final_state


async def test_strict_errors_for_resumes_that_cannot_be_honoured(backend: Backend) -> None:
    graph = refund_graph(backend, [])
    with pytest.raises(ThreadNotFoundError, match="'ghost'"):
        await graph.execute(Command(resume="yes"), thread_id="ghost")
    with pytest.raises(ThreadNotFoundError, match="'ghost'"):
        await graph.execute(None, thread_id="ghost")
    await graph.execute({}, thread_id="strict")
    with pytest.raises(UnknownInterruptError, match="'nope'"):
        await graph.execute(Command(resume_by_id={"nope": "yes"}), thread_id="strict")
    with pytest.raises(MissingResumeError, match="'strict'"):
        await graph.execute(None, thread_id="strict")
    with pytest.raises(InvalidInputError, match=r"'strict'.*paused"):
        await graph.execute({"ticket": "new"}, thread_id="strict")
    changed = StateGraph("refunds", checkpointer=backend.make(), on_graph_change="allow")
    changed.add_node("prepare", lambda s: None).add_edge(START, "prepare")
    changed.add_edge("prepare", END)
    with pytest.raises(ResumeTargetError, match="'approve'"):
        await changed.execute(Command(resume="yes"), thread_id="strict")
    # none of these started anything: the pause is still there and answerable
    state = await graph.get_state("strict")
    assert state.status == "paused"
    assert (await graph.execute(Command(resume="yes"), thread_id="strict")).final_state[
        "result"
    ] == "refunded"


async def test_resuming_a_finished_thread_says_who_answered_it(backend: Backend) -> None:
    graph = refund_graph(backend, [])
    paused = await graph.execute({}, thread_id="twice")
    assert paused.interrupt is not None
    iid = paused.interrupt.interrupt.id
    await graph.execute(Command(resume_by_id={iid: "yes"}), thread_id="twice")
    with pytest.raises(ResumeConflictError, match=iid):
        await graph.execute(Command(resume_by_id={iid: "yes"}), thread_id="twice")
    with pytest.raises(ResumeConflictError, match="already answered"):
        await graph.execute(Command(resume="yes"), thread_id="twice")
    never_paused = StateGraph("plain", checkpointer=backend.make())
    never_paused.add_node("n", lambda s: {"x": 1}).add_edge(START, "n").add_edge("n", END)
    await never_paused.execute({}, thread_id="plain")
    with pytest.raises(NothingToResumeError, match="'plain'"):
        await never_paused.execute(Command(resume="yes"), thread_id="plain")


async def test_two_concurrent_resumes_run_the_action_once(backend: Backend) -> None:
    effects: list[str] = []
    await refund_graph(backend, effects).execute({}, thread_id="race")
    outcomes = await asyncio.gather(
        refund_graph(backend, effects).execute(Command(resume="yes"), thread_id="race"),
        refund_graph(backend, effects).execute(Command(resume="yes"), thread_id="race"),
        return_exceptions=True,
    )
    conflicts = [o for o in outcomes if isinstance(o, ResumeConflictError)]
    finished = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(conflicts) == 1 and len(finished) == 1
    assert effects.count("act") == 1


async def test_unstorable_value_fails_before_writing_and_keeps_the_pause(
    backend: Backend,
) -> None:
    graph = StateGraph("unstorable", checkpointer=backend.make())
    graph.add_node("ask", lambda s: {"answer": interrupt("?")})
    graph.add_node("bad", lambda s: {"ticket": {"attachments": [1, 2, object()]}})
    graph.add_edge(START, "ask").add_edge("ask", "bad").add_edge("bad", END)
    await graph.execute({"n": 1}, thread_id="bad")
    with pytest.raises(StateSerializationError, match=r"ticket.*attachments.*2.*object"):
        await graph.execute(Command(resume="go"), thread_id="bad")
    state = await graph.get_state("bad")
    assert state.values["answer"] == "go"  # the last good checkpoint: ask finished
    assert "ticket" not in state.values


async def test_parallel_pauses_resume_by_id_and_store_only_unfinished_work(
    backend: Backend,
) -> None:
    calls: list[str] = []
    graph = StateGraph("parallel", checkpointer=backend.make())

    def ask(name: str) -> Any:
        def node(state: dict[str, Any]) -> dict[str, Any]:
            calls.append(name)
            return {name: interrupt(name)}

        return node

    graph.add_node("a", ask("a")).add_node("b", ask("b"))
    graph.add_node("c", lambda s: calls.append("c") or {"c": True})
    for n in "abc":
        graph.add_edge(START, n).add_edge(n, END)
    paused = await graph.execute({}, thread_id="par")
    ids = {i.node_id: i.interrupt.id for i in paused.interrupts}
    half = await graph.execute(Command(resume_by_id={ids["a"]: 1}), thread_id="par")
    assert [i.node_id for i in half.interrupts] == ["b"]
    done = await graph.execute(Command(resume_by_id={ids["b"]: 2}), thread_id="par")
    assert done.final_state == {"a": 1, "b": 2, "c": True}
    assert calls.count("c") == 1


async def test_a_finished_thread_can_start_another_run_over_its_values(
    backend: Backend,
) -> None:
    graph = StateGraph("counter", checkpointer=backend.make())
    graph.add_node("inc", lambda s: {"n": s.get("n", 0) + 1})
    graph.add_edge(START, "inc").add_edge("inc", END)
    await graph.execute({}, thread_id="ctr")
    again = await graph.execute({"extra": True}, thread_id="ctr")
    assert again.final_state == {"n": 2, "extra": True}


async def test_an_eight_step_chain_stores_a_big_value_once(backend: Backend) -> None:
    graph = StateGraph("wide", checkpointer=backend.make())
    names = [f"n{i}" for i in range(8)]
    for i, name in enumerate(names):
        graph.add_node(name, lambda s, i=i: {"step": i})
    for a, b in zip([START, *names], [*names, END], strict=True):
        graph.add_edge(a, b)
    big = "x" * 1_000_000
    await graph.execute({"blob": big, "step": -1}, thread_id="wide")
    stored = await backend.stored_bytes(graph.config.checkpointer, "wide")
    assert stored <= 1.5 * len(big), stored


async def test_an_invalid_typed_answer_leaves_the_stored_pause_answerable(
    backend: Backend,
) -> None:
    graph = StateGraph("typed", checkpointer=backend.make())
    graph.add_node("amount", lambda s: {"amount": interrupt("how much?", response_schema=int)})
    graph.add_edge(START, "amount").add_edge("amount", END)
    paused = await graph.execute({}, thread_id="typed")
    assert paused.interrupt is not None
    assert paused.interrupt.interrupt.response_schema == {"type": "integer"}
    with pytest.raises(InvalidResumeValueError, match="'amount'"):
        await graph.execute(Command(resume="lots"), thread_id="typed")
    state = await graph.get_state("typed")
    assert state.status == "paused"
    assert [i.interrupt.id for i in state.interrupts] == [paused.interrupt.interrupt.id]
    done = await graph.execute(Command(resume="40"), thread_id="typed")
    assert done.final_state == {"amount": 40}


async def test_a_failed_step_is_retried_with_none_without_redoing_earlier_steps(
    backend: Backend,
) -> None:
    calls: list[str] = []
    outage = {"down": True}
    graph = StateGraph("flaky", checkpointer=backend.make())

    def lookup(state: dict[str, Any]) -> dict[str, Any]:
        calls.append("lookup")
        return {"order": 42}

    def draft(state: dict[str, Any]) -> dict[str, Any]:
        calls.append("draft")
        if outage["down"]:
            raise ConnectionError("provider unavailable")
        return {"draft": f"about order {state['order']}"}

    graph.add_node("lookup", lookup).add_node("draft", draft)
    graph.add_edge(START, "lookup").add_edge("lookup", "draft").add_edge("draft", END)
    with pytest.raises(NodeExecutionError, match="'draft'"):
        await graph.execute({}, thread_id="flaky")
    state = await graph.get_state("flaky")
    assert state.status == "running" and state.next == ["draft"]
    outage["down"] = False
    done = await graph.execute(None, thread_id="flaky")
    assert done.final_state == {"order": 42, "draft": "about order 42"}
    assert calls == ["lookup", "draft", "draft"]
