"""Subgraphs: a compiled StateGraph as a node, pausing and resuming inside, on every backend.

Each test runs against memory, SQLite, PostgreSQL and Redis (the ``backend`` fixture); the
resume always goes through a newly built graph on a new checkpointer, as another process
would. Several tests pin failures reported against other frameworks: a paused subgraph that
restarts instead of resuming (langgraph#4796), an inner node's second interrupt that gets
the first answer again (langgraph#2870), answers reaching the wrong parallel branch
(langgraph#6533).
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Any

from checkpoint_backends import Backend

from locus.core import Command, interrupt, once
from locus.multiagent import END, START, StateGraph


def refund_subgraph(ran: Counter[str]) -> StateGraph:
    """check -> approve (interrupts) -> pay."""
    inner = StateGraph("refund")

    def check(state: dict[str, Any]) -> dict[str, Any]:
        ran["check"] += 1
        return {"checked": True}

    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        ran["approve"] += 1
        return {"approved": interrupt({"refund": state.get("amount")}) == "yes"}

    def pay(state: dict[str, Any]) -> dict[str, Any]:
        ran["pay"] += 1
        return {"paid": state["approved"]}

    inner.add_node("check", check).add_node("approve", approve).add_node("pay", pay)
    inner.add_edge(START, "check").add_edge("check", "approve")
    inner.add_edge("approve", "pay").add_edge("pay", END)
    return inner


def desk(backend: Backend, ran: Counter[str], name: str = "desk") -> StateGraph:
    """prepare -> refund (the subgraph) -> close."""
    outer = StateGraph(name, checkpointer=backend.make())

    def prepare(state: dict[str, Any]) -> dict[str, Any]:
        ran["prepare"] += 1
        return {"amount": 40}

    def close(state: dict[str, Any]) -> dict[str, Any]:
        ran["close"] += 1
        return {"closed": state["paid"]}

    outer.add_node("prepare", prepare).add_node("refund", refund_subgraph(ran))
    outer.add_node("close", close)
    outer.add_edge(START, "prepare").add_edge("prepare", "refund")
    outer.add_edge("refund", "close").add_edge("close", END)
    return outer


async def test_subgraph_that_pauses_resumes_where_it_paused(backend: Backend) -> None:
    ran: Counter[str] = Counter()
    paused = await desk(backend, ran).execute({"ticket": "T-1"}, thread_id="t")
    assert [(i.node_id, i.interrupt.payload) for i in paused.interrupts] == [
        ("refund/approve", {"refund": 40})
    ]
    done = await desk(backend, ran).execute(Command(resume="yes"), thread_id="t")
    assert not done.is_interrupted
    assert done.final_state["closed"] is True
    assert done.final_state["checked"] is True
    # nothing that finished before the pause ran again; approve re-ran to take its answer
    assert ran == Counter(prepare=1, check=1, approve=2, pay=1, close=1)


async def test_inner_node_second_interrupt_gets_second_answer(backend: Backend) -> None:
    inner = StateGraph("two-questions")

    def ask(state: dict[str, Any]) -> dict[str, Any]:
        return {"answers": [interrupt("first?"), interrupt("second?")]}

    inner.add_node("ask", ask).add_edge(START, "ask").add_edge("ask", END)

    def build() -> StateGraph:
        outer = StateGraph("asker", checkpointer=backend.make())
        outer.add_node("inner", inner).add_edge(START, "inner").add_edge("inner", END)
        return outer

    first = await build().execute({}, thread_id="q")
    assert first.interrupt is not None and first.interrupt.interrupt.payload == "first?"
    second = await build().execute(Command(resume="a"), thread_id="q")
    assert second.interrupt is not None and second.interrupt.interrupt.payload == "second?"
    assert second.interrupt.node_id == "inner/ask"
    done = await build().execute(Command(resume="b"), thread_id="q")
    assert done.final_state["answers"] == ["a", "b"]


async def test_parallel_subgraph_approvals_are_matched_by_id(backend: Backend) -> None:
    ran: Counter[str] = Counter()
    refund = refund_subgraph(ran)

    def build() -> StateGraph:
        outer = StateGraph("two-refunds", checkpointer=backend.make())
        for side in ("a", "b"):
            outer.add_node(
                f"refund_{side}",
                refund,
                inputs={f"amount_{side}": "amount"},
                outputs={"paid": f"paid_{side}"},
            )
            outer.add_edge(START, f"refund_{side}").add_edge(f"refund_{side}", END)
        return outer

    paused = await build().execute({"amount_a": 10, "amount_b": 20}, thread_id="p")
    by_amount = {i.interrupt.payload["refund"]: i for i in paused.interrupts}
    assert {i.node_id for i in paused.interrupts} == {"refund_a/approve", "refund_b/approve"}
    # answer only b's: a stays pending under the same id
    half = await build().execute(
        Command(resume_by_id={by_amount[20].interrupt.id: "yes"}), thread_id="p"
    )
    assert [i.interrupt.id for i in half.interrupts] == [by_amount[10].interrupt.id]
    done = await build().execute(
        Command(resume_by_id={by_amount[10].interrupt.id: "no"}), thread_id="p"
    )
    assert done.final_state["paid_a"] is False
    assert done.final_state["paid_b"] is True
    assert "checked" not in done.final_state  # outputs= chose what flows back
    assert ran["check"] == 2 and ran["pay"] == 2


async def test_three_deep_subgraph_pauses_and_resumes_with_its_path(backend: Backend) -> None:
    ran: Counter[str] = Counter()
    middle = StateGraph("refunds")
    middle.add_node("refund", refund_subgraph(ran))
    middle.add_edge(START, "refund").add_edge("refund", END)

    def build() -> StateGraph:
        top = StateGraph("orders", checkpointer=backend.make())
        top.add_node("order", middle).add_edge(START, "order").add_edge("order", END)
        return top

    paused = await build().execute({"amount": 7}, thread_id="deep")
    assert [i.node_id for i in paused.interrupts] == ["order/refund/approve"]
    state = await build().get_state("deep")
    assert [i.node_id for i in state.interrupts] == ["order/refund/approve"]
    done = await build().execute(
        Command(resume_by_id={paused.interrupts[0].interrupt.id: "yes"}), thread_id="deep"
    )
    assert done.final_state["paid"] is True
    assert ran == Counter(check=1, approve=2, pay=1)


async def test_inner_node_journal_replays_its_side_effect(backend: Backend) -> None:
    sent: list[str] = []
    inner = StateGraph("notify")

    async def notify_then_ask(state: dict[str, Any]) -> dict[str, Any]:
        receipt = await once("email", sent.append, "email")
        return {"ok": interrupt("send?"), "receipt": receipt}

    inner.add_node("ask", notify_then_ask).add_edge(START, "ask").add_edge("ask", END)

    def build() -> StateGraph:
        outer = StateGraph("notifier", checkpointer=backend.make())
        outer.add_node("inner", inner).add_edge(START, "inner").add_edge("inner", END)
        return outer

    await build().execute({}, thread_id="j")
    done = await build().execute(Command(resume=True), thread_id="j")
    assert done.final_state["ok"] is True
    assert sent == ["email"]


async def test_the_whole_tree_is_one_thread_of_the_outer_store(backend: Backend) -> None:
    ran: Counter[str] = Counter()
    inner_store = backend.make()
    inner = refund_subgraph(ran)
    inner.compile(checkpointer=inner_store)
    outer = StateGraph("desk", checkpointer=backend.make())
    outer.add_node("refund", inner).add_edge(START, "refund").add_edge("refund", END)
    paused = await outer.execute({"amount": 5}, thread_id="tree")
    assert paused.is_interrupted
    # the inner graph's own store is never used (it would hold a thread of its own, under
    # its own lease): the outer thread holds the inner run
    page = await inner_store.list_pending()
    assert [(i.thread_id, i.node) for i in page.items] == [("tree", "refund/approve")]
    page = await outer.checkpointer.list_pending()  # type: ignore[union-attr]
    assert [(i.thread_id, i.node) for i in page.items] == [("tree", "refund/approve")]


async def test_inner_graph_types_are_restored_from_the_outer_thread(backend: Backend) -> None:
    from enum import Enum

    class Verdict(Enum):
        OK = "ok"

    inner = StateGraph("typed", types=[Verdict])

    def decide(state: dict[str, Any]) -> dict[str, Any]:
        return {"verdict": Verdict(interrupt("verdict?"))}

    inner.add_node("decide", decide).add_edge(START, "decide").add_edge("decide", END)

    def build() -> StateGraph:
        outer = StateGraph("typed-outer", checkpointer=backend.make())
        outer.add_node("inner", inner).add_edge(START, "inner").add_edge("inner", END)
        return outer

    await build().execute({"since": Verdict.OK}, thread_id="ty")
    done = await build().execute(Command(resume="ok"), thread_id="ty")
    assert done.final_state["verdict"] is Verdict.OK


async def test_a_send_branch_can_run_a_subgraph(backend: Backend) -> None:
    from locus.multiagent import Send

    ran: Counter[str] = Counter()
    refund = refund_subgraph(ran)

    def build() -> StateGraph:
        outer = StateGraph("branches", checkpointer=backend.make(), reducers={"paid": operator.add})
        outer.add_node("split", lambda s: None)
        outer.add_node("refund", refund, outputs={"paid": "paid"})
        outer.add_edge(START, "split").add_edge("refund", END)
        outer.add_conditional_edges(
            "split", lambda s: [Send("refund", {"amount": a}) for a in (1, 2)], ["refund"]
        )
        return outer

    paused = await build().execute({}, thread_id="b")
    assert sorted(i.node_id for i in paused.interrupts) == [
        "refund[0]/approve",
        "refund[1]/approve",
    ]
    by_amount = {i.interrupt.payload["refund"]: i.interrupt.id for i in paused.interrupts}
    half = await build().execute(Command(resume_by_id={by_amount[2]: "yes"}), thread_id="b")
    assert [i.interrupt.id for i in half.interrupts] == [by_amount[1]]
    done = await build().execute(Command(resume_by_id={by_amount[1]: "no"}), thread_id="b")
    assert done.final_state["paid"] == 1  # False + True, in branch order
    assert ran == Counter(check=2, approve=4, pay=2)
