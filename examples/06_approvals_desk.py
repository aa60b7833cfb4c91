"""06 — An approvals desk: refunds answered from anywhere, by the right people, in time.

Refund requests pause for approval. The pause is a durable work item of an ``Inbox``: a
reviewer answers it (from a web page, a chat button, a CLI) without running the graph, and
the thread resumes later, here with ``graph.execute(None, thread_id=...)`` (a worker would
do that in production). The rules travel with each pause:

* up to $1,000 any support agent may approve;
* above $1,000 only a manager may;
* above $10,000 two different managers must approve (four eyes), never the requester;
* nobody answers within 24 hours: escalate to a director for another 24 hours, then reject.

Runs offline, in one process, on an SQLite file; the clock is moved forward by passing
``now=`` to ``expire_due`` (what a scheduler would call every minute). It ends by printing
each ticket's audit trail and checking its hash chain.

What to notice:
1. ``inbox.answer`` only stores; the graph runs on ``execute(None, thread_id=...)``.
2. A refused answer (wrong role, the requester, the same manager twice) is recorded in the
   trail and changes nothing else.
3. The escalated item keeps its id; its answerers and deadline change.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from locus.checkpoint import SQLiteCheckpointer
from locus.core import interrupt
from locus.errors import AlreadyAnsweredError, AnswerNotAllowedError
from locus.inbox import Actor, Answerers, Escalate, Inbox
from locus.multiagent import END, START, StateGraph

DAY = dt.timedelta(hours=24)

# %% 1. Who is who ----------------------------------------------------------------------------

AGENT = Actor("sam", frozenset({"support"}), display_name="Sam (support)")
MANAGER = Actor("maria", frozenset({"manager"}), display_name="Maria (manager)")
MANAGER_2 = Actor("omar", frozenset({"manager"}), display_name="Omar (manager)")
DIRECTOR = Actor("dana", frozenset({"director"}), display_name="Dana (director)")


def rules_for(amount: int, requester: str) -> Answerers:
    """Who may approve a refund of ``amount`` dollars."""
    if amount > 10_000:
        return Answerers(roles={"manager"}, quorum=2, not_users={requester})
    if amount > 1_000:
        return Answerers(roles={"manager"}, not_users={requester})
    return Answerers(roles={"support", "manager"}, not_users={requester})


# %% 2. The workflow --------------------------------------------------------------------------


def build_graph(checkpointer: SQLiteCheckpointer) -> StateGraph:
    def approve(state: dict[str, Any]) -> dict[str, Any]:
        decision = interrupt(
            {"type": "refund", "amount": state["amount"], "customer": state["customer"]},
            answerers=rules_for(state["amount"], state["requester"]),
            deadline=DAY,
            on_timeout=Escalate(
                answerers=Answerers(roles={"director"}), deadline=DAY, on_timeout="rejected"
            ),
        )
        return {"decision": decision}

    def act(state: dict[str, Any]) -> dict[str, Any]:
        done = "refunded" if state["decision"] == "approved" else "not refunded"
        return {"outcome": f"{state['customer']}: ${state['amount']:,} {done}"}

    graph = StateGraph("refund-desk", checkpointer=checkpointer)
    graph.add_node("approve", approve).add_node("act", act)
    graph.add_edge(START, "approve").add_edge("approve", "act").add_edge("act", END)
    return graph


TICKETS = {
    "T-1": {"amount": 80, "customer": "Ada", "requester": "lee"},
    "T-2": {"amount": 2_400, "customer": "Ben", "requester": "sam"},
    "T-3": {"amount": 25_000, "customer": "Cleo", "requester": "maria"},
    "T-4": {"amount": 5_000, "customer": "Dev", "requester": "sam"},
}


async def try_answer(inbox: Inbox, item_id: str, value: str, actor: Actor) -> None:
    try:
        receipt = await inbox.answer(item_id, value, actor=actor, reason="checked the order")
    except (AnswerNotAllowedError, AlreadyAnsweredError) as exc:
        print(f"   refused  {actor.display_name}: {type(exc).__name__}")
        return
    more = "" if receipt.complete else f" ({receipt.answers_needed} more needed)"
    print(f"   recorded {actor.display_name}: {value}{more}")


# %% 3. A day at the desk ---------------------------------------------------------------------


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with SQLiteCheckpointer(Path(tmp) / "desk.db") as store:
            graph = build_graph(store)
            inbox = Inbox(store)
            for ticket, request in TICKETS.items():
                await graph.execute(request, thread_id=ticket)
            ids = {item.thread_id: item.id for item in (await inbox.pending()).items}
            print(f"1. {len(ids)} refunds wait for approval")

            print("2. reviewers answer, from wherever they are")
            await try_answer(inbox, ids["T-1"], "approved", AGENT)
            await try_answer(inbox, ids["T-2"], "approved", AGENT)  # needs a manager
            await try_answer(inbox, ids["T-2"], "approved", MANAGER)
            await try_answer(inbox, ids["T-3"], "approved", MANAGER)  # the requester
            await try_answer(inbox, ids["T-3"], "approved", MANAGER_2)
            await try_answer(inbox, ids["T-3"], "approved", MANAGER_2)  # same person twice

            print("3. a day passes: T-3 still lacks its second manager, T-4 nobody answered")
            now = dt.datetime.now(dt.UTC)
            for action in await inbox.expire_due(now + DAY + dt.timedelta(minutes=1)):
                print(f"   {action.thread_id}: {action.kind}")
            mine = await inbox.pending(actor=DIRECTOR)
            print(f"   the director's queue: {sorted(i.thread_id for i in mine.items)}")
            escalated = await inbox.get(ids["T-4"])
            print(f"   T-4 keeps its id: {escalated.id == ids['T-4']}")
            await try_answer(inbox, ids["T-4"], "approved", MANAGER)  # no longer allowed

            print("4. another day: nobody answered the escalations, so they are rejected")
            for action in await inbox.expire_due(now + 2 * DAY + dt.timedelta(minutes=2)):
                print(f"   {action.thread_id}: {action.kind}")

            print("5. a worker resumes every ready thread with its stored answer")
            for thread_id in await store.list_ready("refund-desk"):
                result = await graph.execute(None, thread_id=thread_id)
                print(f"   {result.final_state['outcome']}")

            print("6. the audit trail")
            for ticket in TICKETS:
                check = await inbox.verify_audit(ticket)
                print(f"   {ticket} (chain {'intact' if check.ok else check.problems})")
                for entry in await inbox.audit(ticket):
                    who = entry.actor.display_name if entry.actor else "-"
                    print(f"     {entry.seq}. {entry.kind:<9} {who}")


if __name__ == "__main__":
    asyncio.run(main())
