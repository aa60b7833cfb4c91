"""The support-desk workflow the worker runs: ``locus worker desk:graph``.

classify -> draft -> (refunds over $100: a manager approves) -> send. Offline: the
classifier is a keyword rule standing in for a model. ``send`` runs inside ``once()``,
so a ticket's reply goes out once, whichever worker runs it and whatever dies when.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from locus.core import interrupt
from locus.core.journal import once
from locus.multiagent import END, START, StateGraph

OUTBOX = Path(os.environ.get("DESK_OUTBOX", ".locus/support_desk_outbox.txt"))


def classify(state: dict[str, Any]) -> dict[str, Any]:
    text = state["text"].lower()
    kind = "refund" if "refund" in text else "bug" if "crash" in text else "question"
    return {"kind": kind}


def draft(state: dict[str, Any]) -> dict[str, Any]:
    replies = {
        "refund": f"We are refunding ${state['amount']} for ticket {state['ticket']}.",
        "bug": "Thanks for the report; engineering is on it.",
        "question": "Here is the answer to your question.",
    }
    return {"reply": replies[state["kind"]]}


def needs_approval(state: dict[str, Any]) -> str:
    return "approve" if state["kind"] == "refund" and state["amount"] > 100 else "send"


def approve(state: dict[str, Any]) -> dict[str, Any]:
    answer = interrupt({"ticket": state["ticket"], "question": f"Refund ${state['amount']}?"})
    return {"approved": answer == "yes"}


def _send(ticket: str, reply: str) -> str:
    OUTBOX.parent.mkdir(parents=True, exist_ok=True)
    with OUTBOX.open("a") as outbox:
        outbox.write(f"{ticket}: {reply}\n")
    return "sent"


async def send(state: dict[str, Any]) -> dict[str, Any]:
    if state.get("approved") is False:
        return {"sent": "declined"}
    return {"sent": await once("send-reply", _send, state["ticket"], state["reply"])}


def build() -> StateGraph:
    g = StateGraph("support_desk")
    g.add_node("classify", classify)
    g.add_node("draft", draft)
    g.add_node("approve", approve)
    g.add_node("send", send)
    g.add_edge(START, "classify")
    g.add_edge("classify", "draft")
    g.add_conditional_edges("draft", needs_approval, ["approve", "send"])
    g.add_edge("approve", "send")
    g.add_edge("send", END)
    return g


graph = build()
