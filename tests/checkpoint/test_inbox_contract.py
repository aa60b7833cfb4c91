"""The inbox contract, on every backend: answers stored without running the graph, who may
answer, deadlines, and the hash-chained audit trail."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest
from checkpoint_backends import Backend

from locus.checkpoint import Checkpointer
from locus.core import Command, interrupt
from locus.errors import (
    AlreadyAnsweredError,
    AnswerNotAllowedError,
    InterruptExpiredError,
    InvalidResumeValueError,
    MissingResumeError,
    ResumeConflictError,
    StaleAnswerError,
    UnknownInterruptError,
)
from locus.inbox import Actor, Answerers, Escalate, Expire, Inbox
from locus.multiagent import END, START, StateGraph

ANN = Actor("ann", frozenset({"manager"}))
CY = Actor("cy", frozenset({"manager"}))
BOB = Actor("bob", frozenset({"agent"}))


def refund_graph(cp: Checkpointer, name: str = "refunds", **ask: Any) -> StateGraph:
    graph = StateGraph(name, checkpointer=cp)

    def approve(state: dict[str, Any]) -> dict[str, Any]:
        try:
            decision = interrupt({"refund": state["amount"]}, **ask)
        except InterruptExpiredError:
            decision = "expired"
        return {"decision": decision}

    graph.add_node("approve", approve).add_edge(START, "approve").add_edge("approve", END)
    return graph


async def paused(graph: StateGraph, thread_id: str, amount: int = 50) -> str:
    result = await graph.execute({"amount": amount}, thread_id=thread_id)
    assert result.is_interrupted
    return result.interrupts[0].interrupt.id


async def test_an_answer_is_stored_without_running_and_the_thread_resumes_with_it(
    backend: Backend,
) -> None:
    cp = backend.make()
    graph = refund_graph(cp)
    iid = await paused(graph, "t1")
    inbox = Inbox(backend.make())
    receipt = await inbox.answer(iid, "yes", actor=ANN, reason="fine")
    assert receipt.complete and receipt.answers_needed == 0
    # nothing ran: the thread is still paused, and ready
    assert (await graph.get_state("t1")).status == "paused"
    assert await cp.list_ready("refunds") == ["t1"]
    assert await cp.list_ready("other-graph") == []
    assert (await inbox.pending()).items == []
    done = await graph.execute(None, thread_id="t1")
    assert done.final_state == {"amount": 50, "decision": "yes"}
    assert await cp.list_ready() == []
    kinds = [(e.kind, e.actor.id if e.actor else None) for e in await inbox.audit("t1")]
    assert kinds == [("asked", None), ("answered", "ann"), ("resumed", None), ("finished", None)]
    answered = (await inbox.audit("t1"))[1]
    assert answered.data["reason"] == "fine" and answered.data["value"] == "yes"


async def test_continuing_a_paused_thread_without_a_stored_answer_still_asks_for_one(
    backend: Backend,
) -> None:
    graph = refund_graph(backend.make())
    await paused(graph, "t1")
    with pytest.raises(MissingResumeError):
        await graph.execute(None, thread_id="t1")


async def test_an_actor_outside_the_answerers_is_refused_and_only_the_refusal_is_written(
    backend: Backend,
) -> None:
    cp = backend.make()
    iid = await paused(refund_graph(cp, answerers=Answerers(roles={"manager"})), "t1")
    inbox = Inbox(cp)
    with pytest.raises(AnswerNotAllowedError, match=r"bob.*t1|t1.*bob"):
        await inbox.answer(iid, "yes", actor=BOB)
    assert await cp.list_ready() == []
    item = await inbox.get(iid)
    assert item.answers == []
    trail = await inbox.audit("t1")
    assert [e.kind for e in trail] == ["asked", "refused"]
    assert trail[1].actor == BOB and "manager" in trail[1].data["why"]
    # still answerable by an allowed actor
    assert (await inbox.answer(iid, "yes", actor=ANN)).complete


async def test_not_users_excludes_an_actor_holding_an_allowed_role(backend: Backend) -> None:
    cp = backend.make()
    rule = Answerers(roles={"manager"}, not_users={"ann"})
    iid = await paused(refund_graph(cp, answerers=rule), "t1")
    with pytest.raises(AnswerNotAllowedError, match="excluded"):
        await Inbox(cp).answer(iid, "yes", actor=ANN)


async def test_quorum_two_refuses_the_same_actor_twice_and_accepts_two_distinct(
    backend: Backend,
) -> None:
    cp = backend.make()
    graph = refund_graph(cp, answerers=Answerers(roles={"manager"}, quorum=2))
    iid = await paused(graph, "t1")
    inbox = Inbox(cp)
    first = await inbox.answer(iid, "yes", actor=ANN)
    assert not first.complete and first.answers_needed == 1
    with pytest.raises(AlreadyAnsweredError, match="ann"):
        await inbox.answer(iid, "yes", actor=ANN)
    assert await cp.list_ready() == []
    assert [a["actor"] for a in (await inbox.get(iid)).answers] == ["ann"]
    second = await inbox.answer(iid, "yes", actor=CY)
    assert second.complete
    done = await graph.execute(None, thread_id="t1")
    assert done.final_state["decision"] == "yes"


async def test_a_direct_resume_is_held_to_the_answerers_and_records_its_actor(
    backend: Backend,
) -> None:
    cp = backend.make()
    graph = refund_graph(cp, answerers=Answerers(users={"ann"}))
    await paused(graph, "t1")
    with pytest.raises(AnswerNotAllowedError, match="no actor"):
        await graph.execute(Command(resume="yes"), thread_id="t1")
    with pytest.raises(AnswerNotAllowedError, match="bob"):
        await graph.execute(Command(resume="yes", actor=BOB), thread_id="t1")
    assert (await graph.get_state("t1")).status == "paused"
    done = await graph.execute(Command(resume="yes", actor=ANN), thread_id="t1")
    assert done.final_state["decision"] == "yes"
    trail = await Inbox(cp).audit("t1")
    assert [(e.kind, e.actor.id if e.actor else None) for e in trail][1:3] == [
        ("answered", "ann"),
        ("resumed", "ann"),
    ]


async def test_an_answer_against_a_changed_payload_is_stale(backend: Backend) -> None:
    cp = backend.make()
    iid = await paused(refund_graph(cp), "t1")
    inbox = Inbox(cp)
    item = await inbox.get(iid)
    with pytest.raises(StaleAnswerError, match=iid):
        await inbox.answer(iid, "yes", actor=ANN, digest="0" * 64)
    receipt = await inbox.answer(iid, "yes", actor=ANN, digest=item.digest)
    assert receipt.complete


async def test_an_answer_breaking_the_response_schema_names_the_field(backend: Backend) -> None:
    from pydantic import BaseModel

    class Decision(BaseModel):
        approve: bool
        note: str = ""

    cp = backend.make()
    iid = await paused(refund_graph(cp, response_schema=Decision), "t1")
    inbox = Inbox(cp)
    with pytest.raises(InvalidResumeValueError, match="approve"):
        await inbox.answer(iid, {"note": "x"}, actor=ANN)
    with pytest.raises(InvalidResumeValueError, match="approve"):
        await inbox.answer(iid, {"approve": "maybe"}, actor=ANN)
    assert (await inbox.answer(iid, {"approve": True}, actor=ANN)).complete


async def test_a_second_answer_is_already_answered_naming_who_and_when(backend: Backend) -> None:
    cp = backend.make()
    iid = await paused(refund_graph(cp), "t1")
    inbox = Inbox(cp)
    await inbox.answer(iid, "yes", actor=ANN)
    with pytest.raises(AlreadyAnsweredError, match="'ann' at 20") as caught:
        await inbox.answer(iid, "no", actor=CY)
    assert isinstance(caught.value, ResumeConflictError)
    with pytest.raises(UnknownInterruptError):
        await inbox.get(iid)


async def test_an_unknown_interrupt_id_is_named(backend: Backend) -> None:
    with pytest.raises(UnknownInterruptError, match="nope"):
        await Inbox(backend.make()).answer("nope", "yes", actor=ANN)


async def test_expire_due_resumes_with_the_timeout_value_once(backend: Backend) -> None:
    cp = backend.make()
    graph = refund_graph(cp, deadline=dt.timedelta(hours=24), on_timeout="no")
    iid = await paused(graph, "t1")
    inbox = Inbox(cp)
    assert await inbox.expire_due() == []
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    actions = await inbox.expire_due(later)
    assert [(a.interrupt_id, a.kind) for a in actions] == [(iid, "timed_out")]
    assert await inbox.expire_due(later) == []
    done = await graph.execute(None, thread_id="t1")
    assert done.final_state["decision"] == "no"


async def test_escalate_keeps_the_id_reassigns_and_then_times_out(backend: Backend) -> None:
    cp = backend.make()
    rule = Escalate(answerers=Answerers(roles={"director"}), deadline=dt.timedelta(hours=24))
    graph = refund_graph(
        cp,
        answerers=Answerers(roles={"manager"}),
        deadline=dt.timedelta(hours=24),
        on_timeout=Escalate(
            answerers=rule.answerers, deadline=rule.deadline, on_timeout="rejected"
        ),
    )
    iid = await paused(graph, "t1")
    inbox = Inbox(cp)
    now = dt.datetime.now(dt.UTC)
    assert [a.kind for a in await inbox.expire_due(now + dt.timedelta(hours=25))] == ["escalated"]
    item = await inbox.get(iid)
    assert item.answerers == Answerers(roles={"director"})
    assert item.deadline is not None and item.deadline > now + dt.timedelta(hours=24)
    with pytest.raises(AnswerNotAllowedError, match="director"):
        await inbox.answer(iid, "yes", actor=ANN)
    # past the first deadline, not yet past the one the escalation set
    assert await inbox.expire_due(now + dt.timedelta(hours=30)) == []
    overdue = await inbox.pending(overdue=True, now=(now + dt.timedelta(hours=49)).timestamp())
    assert [i.id for i in overdue.items] == [iid]
    actions = await inbox.expire_due(now + dt.timedelta(hours=49))
    assert [a.kind for a in actions] == ["timed_out"]
    done = await graph.execute(None, thread_id="t1")
    assert done.final_state["decision"] == "rejected"


async def test_expire_makes_the_rerun_interrupt_raise(backend: Backend) -> None:
    cp = backend.make()
    graph = refund_graph(cp, deadline=dt.timedelta(minutes=5), on_timeout=Expire())
    iid = await paused(graph, "t1")
    inbox = Inbox(cp)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)
    assert [a.kind for a in await inbox.expire_due(later)] == ["expired"]
    with pytest.raises(InterruptExpiredError, match=iid):
        await inbox.answer(iid, "yes", actor=ANN)
    done = await graph.execute(None, thread_id="t1")
    assert done.final_state["decision"] == "expired"
    assert "expired" in [e.kind for e in await inbox.audit("t1")]
    with pytest.raises(UnknownInterruptError):
        await inbox.answer(iid, "yes", actor=ANN)


async def test_pending_filters_by_graph_node_and_actor_and_pages(backend: Backend) -> None:
    cp = backend.make()
    managers = refund_graph(cp, "big-refunds", answerers=Answerers(roles={"manager"}))
    anyone = refund_graph(cp, "small-refunds")
    for i in range(3):
        await paused(managers, f"big-{i}")
        await paused(anyone, f"small-{i}")
    inbox = Inbox(cp)
    everything = await inbox.pending()
    assert len(everything.items) == 6 and everything.next_cursor is None
    assert {i.graph for i in (await inbox.pending(graph="big-refunds")).items} == {"big-refunds"}
    assert len((await inbox.pending(actor=BOB)).items) == 3
    assert len((await inbox.pending(actor=ANN)).items) == 6
    assert (await inbox.pending(node="nowhere")).items == []
    first = await inbox.pending(limit=4)
    assert len(first.items) == 4 and first.next_cursor is not None
    rest = await inbox.pending(limit=4, cursor=first.next_cursor)
    seen = [i.thread_id for i in first.items + rest.items]
    assert sorted(seen) == sorted({*seen}) and len(seen) == 6


async def test_the_audit_chain_detects_an_edited_entry(backend: Backend) -> None:
    cp = backend.make()
    iid = await paused(refund_graph(cp), "t1")
    inbox = Inbox(cp)
    await inbox.answer(iid, "yes", actor=ANN)
    assert (await inbox.verify_audit("t1")).ok
    trail = await cp.read_audit("t1")
    forged = json.loads(trail[1].body)
    forged["actor"]["id"] = "mallory"
    assert backend.edit_audit is not None
    await backend.edit_audit("t1", 2, json.dumps(forged, sort_keys=True, separators=(",", ":")))
    check = await inbox.verify_audit("t1")
    assert not check.ok
    assert any("entry 2" in p and "changed" in p for p in check.problems)


async def test_the_feed_lists_every_entry_in_write_order(backend: Backend) -> None:
    cp = backend.make()
    graph = refund_graph(cp)
    a = await paused(graph, "a")
    b = await paused(graph, "b")
    inbox = Inbox(cp)
    await inbox.answer(b, "yes", actor=ANN)
    await inbox.answer(a, "no", actor=CY)
    feed = await inbox.feed()
    assert [(e.thread_id, e.kind) for e in feed] == [
        ("a", "asked"),
        ("b", "asked"),
        ("b", "answered"),
        ("a", "answered"),
    ]
    positions = [e.position for e in feed]
    assert positions == sorted(positions) and len(set(positions)) == 4
    assert [e.kind for e in await inbox.feed(after=positions[1])] == ["answered", "answered"]
    assert len(await inbox.feed(limit=1)) == 1


async def test_a_feed_read_while_many_threads_write_never_skips_an_entry(
    backend: Backend,
) -> None:
    """Positions only ever become visible in increasing order: a reader that follows the
    feed with ``after=`` while writers commit concurrently ends up with every entry once."""
    cp = backend.make()
    graph = refund_graph(cp)
    seen: list[tuple[str, int, int]] = []
    writing = True

    async def follow() -> None:
        after = 0
        while True:
            last_round = not writing
            for entry in await Inbox(cp).feed(after, limit=7):
                seen.append((entry.thread_id, entry.seq, entry.position))
                after = entry.position
            if last_round:
                return
            await asyncio.sleep(0)

    async def write(i: int) -> None:
        iid = await paused(graph, f"w{i}")
        await Inbox(cp).answer(iid, "yes", actor=ANN)
        await graph.execute(None, thread_id=f"w{i}")

    reader = asyncio.ensure_future(follow())
    await asyncio.gather(*(write(i) for i in range(24)))
    writing = False
    await reader
    while more := await Inbox(cp).feed(seen[-1][2] if seen else 0):
        seen.extend((e.thread_id, e.seq, e.position) for e in more)
    positions = [p for _, _, p in seen]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    every = {(f"w{i}", seq) for i in range(24) for seq in (1, 2, 3, 4)}  # asked ... finished
    assert {(t, q) for t, q, _ in seen} == every and len(seen) == len(every)


async def test_an_answer_while_an_execution_holds_the_thread_is_a_conflict(
    backend: Backend,
) -> None:
    cp = backend.make()
    iid = await paused(refund_graph(cp), "t1")
    await cp.acquire("t1", "someone", lease_seconds=60)
    with pytest.raises(ResumeConflictError):
        await Inbox(cp).answer(iid, "yes", actor=ANN)
    await cp.release("t1", "someone")
    assert (await Inbox(cp).answer(iid, "yes", actor=ANN)).complete


async def test_a_plain_interrupt_stores_no_rules_in_its_snapshot(backend: Backend) -> None:
    graph = refund_graph(backend.make())
    result = await graph.execute({"amount": 5}, thread_id="t1")
    marker = result.final_state["_locus_pause"]
    assert set(marker["interrupts"][0]) == {"id", "node", "index", "payload", "schema"}


async def test_a_snapshot_resume_is_held_to_the_answerers_too() -> None:
    graph = StateGraph("snap")

    def approve(state: dict[str, Any]) -> dict[str, Any]:
        return {"decision": interrupt("ok?", answerers=Answerers(users={"ann"}))}

    graph.add_node("approve", approve).add_edge(START, "approve").add_edge("approve", END)
    paused_run = await graph.execute({})
    with pytest.raises(AnswerNotAllowedError, match="bob"):
        await graph.execute(Command(update=paused_run.final_state, resume="y", actor=BOB))
    done = await graph.execute(Command(update=paused_run.final_state, resume="y", actor=ANN))
    assert done.final_state == {"decision": "y"}


def flaky_graph(cp: Checkpointer, effects: list[str] | None) -> StateGraph:
    """A node whose first answered run returns a value no store can hold."""
    from locus.core import once

    first = {"attempt": True}
    graph = StateGraph("flaky", checkpointer=cp)

    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        answer = interrupt("ok?")
        if effects is not None:
            await once("mail", effects.append, "mail")
        if first.pop("attempt", False):
            return {"receipt": object()}
        return {"decision": answer}

    graph.add_node("approve", approve).add_edge(START, "approve").add_edge("approve", END)
    return graph


async def test_a_stored_answer_whose_resume_cannot_be_stored_stays_ready_for_a_retry(
    backend: Backend,
) -> None:
    from locus.errors import StateSerializationError

    cp = backend.make()
    graph = flaky_graph(cp, None)
    iid = (await graph.execute({}, thread_id="t1")).interrupts[0].interrupt.id
    await Inbox(cp).answer(iid, "yes", actor=ANN)
    with pytest.raises(StateSerializationError):
        await graph.execute(None, thread_id="t1")
    assert await cp.list_ready() == ["t1"]
    assert (await graph.execute(None, thread_id="t1")).final_state == {"decision": "yes"}


async def test_a_rewritten_pause_is_pending_again_and_no_longer_ready(backend: Backend) -> None:
    from locus.errors import StateSerializationError

    cp = backend.make()
    effects: list[str] = []
    graph = flaky_graph(cp, effects)
    iid = (await graph.execute({}, thread_id="t1")).interrupts[0].interrupt.id
    inbox = Inbox(cp)
    await inbox.answer(iid, "yes", actor=ANN)
    with pytest.raises(StateSerializationError):
        await graph.execute(None, thread_id="t1")
    # the pause was written again (with the node's journal): a new checkpoint to answer
    assert await cp.list_ready() == []
    assert [i.id for i in (await inbox.pending()).items] == [iid]
    await inbox.answer(iid, "yes", actor=ANN)
    assert (await graph.execute(None, thread_id="t1")).final_state == {"decision": "yes"}
    assert effects == ["mail"]


async def test_an_interrupt_inside_a_subgraph_keeps_its_rules(backend: Backend) -> None:
    cp = backend.make()
    inner = StateGraph("inner")

    def ask(state: dict[str, Any]) -> dict[str, Any]:
        return {"decision": interrupt("ok?", answerers=Answerers(users={"ann"}))}

    inner.add_node("ask", ask).add_edge(START, "ask").add_edge("ask", END)
    outer = StateGraph("outer", checkpointer=cp)
    outer.add_node("review", inner, outputs={"decision": "decision"})
    outer.add_edge(START, "review").add_edge("review", END)
    await outer.execute({}, thread_id="t1")
    inbox = Inbox(cp)
    item = (await inbox.pending()).items[0]
    assert item.answerers == Answerers(users={"ann"}) and item.node == "review/ask"
    with pytest.raises(AnswerNotAllowedError):
        await inbox.answer(item.id, "yes", actor=BOB)
    await inbox.answer(item.id, "yes", actor=ANN)
    assert (await outer.execute(None, thread_id="t1")).final_state == {"decision": "yes"}
