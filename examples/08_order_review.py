"""08 — Order review: a map fan-out inside a refund subgraph, one line needing a human.

A customer returns an order with several line items. The support desk's graph hands the
refund to a reusable ``refund`` subgraph; inside it, one ``review`` branch runs per line
item (``Send``), and the results gather in item order. Lines above the threshold ask a
human, so the whole run pauses on ``refund/review[i]`` while the other lines' reviews are
kept. After the answer, only the paused branch runs again.

Sections:
1. The refund subgraph: one review per line item
2. The desk graph runs the subgraph as a node
3. Run: one line pauses, named by its path
4. Answer it by id; the refund completes
5. Draw the graph

Run offline: python examples/08_order_review.py
"""

from __future__ import annotations

import asyncio
import operator
from typing import Any

from locus.checkpoint import MemoryCheckpointer
from locus.core import Command, interrupt
from locus.multiagent import END, START, Send, StateGraph

THRESHOLD = 100
REVIEWED: list[str] = []  # every time a line's review runs

# %% 1. The refund subgraph: one review per line item ------------------------------------


def fan_out(state: dict[str, Any]) -> list[Send]:
    """One review branch per line item; the branch's state is the line itself."""
    return [Send("review", line) for line in state["lines"]]


def review(line: dict[str, Any]) -> dict[str, Any]:
    REVIEWED.append(line["sku"])
    amount = line["price"] * line["qty"]
    if amount > THRESHOLD:
        approved = interrupt({"sku": line["sku"], "amount": amount, "question": "refund?"})
        amount = amount if approved == "approve" else 0
    return {"refunds": [{"sku": line["sku"], "amount": amount}]}


def total(state: dict[str, Any]) -> dict[str, Any]:
    return {"refund_total": sum(r["amount"] for r in state["refunds"])}


refund = StateGraph("refund", reducers={"refunds": operator.add})
refund.add_node("split", lambda state: None).add_node("review", review).add_node("total", total)
refund.add_edge(START, "split").add_conditional_edges("split", fan_out, ["review"])
refund.add_edge("review", "total").add_edge("total", END)

# %% 2. The desk graph runs the subgraph as a node ----------------------------------------


def intake(state: dict[str, Any]) -> dict[str, Any]:
    return {"lines": state["order"]["lines"]}


def reply(state: dict[str, Any]) -> dict[str, Any]:
    return {"reply": f"We refunded ${state['refund_total']} for order {state['order']['id']}."}


desk = StateGraph("desk", checkpointer=MemoryCheckpointer())
desk.add_node("intake", intake)
desk.add_node("refund", refund, outputs={"refunds": "refunds", "refund_total": "refund_total"})
desk.add_node("reply", reply)
desk.add_edge(START, "intake").add_edge("intake", "refund")
desk.add_edge("refund", "reply").add_edge("reply", END)

ORDER = {
    "id": "A-1001",
    "lines": [
        {"sku": "mug", "price": 12, "qty": 2},
        {"sku": "espresso-machine", "price": 240, "qty": 1},
        {"sku": "beans", "price": 18, "qty": 3},
    ],
}


async def main() -> None:
    # %% 3. Run: one line pauses, named by its path --------------------------------------
    paused = await desk.execute({"order": ORDER}, thread_id="order-A-1001")
    for item in paused.interrupts:
        print(f"paused at {item.node_id}: {item.interrupt.payload}")
    assert [i.node_id for i in paused.interrupts] == ["refund/review[1]"]

    # %% 4. Answer it by id; the refund completes ----------------------------------------
    answer = {paused.interrupts[0].interrupt.id: "approve"}
    done = await desk.execute(Command(resume_by_id=answer), thread_id="order-A-1001")
    print(done.final_state["reply"])
    print("line reviews:", done.final_state["refunds"])
    print("reviews run:", REVIEWED)  # the paused line twice, the others once
    assert done.final_state["refund_total"] == 24 + 240 + 54
    assert REVIEWED.count("espresso-machine") == 2 and REVIEWED.count("mug") == 1

    # %% 5. Draw the graph ---------------------------------------------------------------
    print(desk.to_mermaid())


if __name__ == "__main__":
    asyncio.run(main())
