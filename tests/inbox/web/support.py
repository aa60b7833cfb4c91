"""Graphs that pause with the kinds of items the web app draws, on a real SQLite store."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from locus.checkpoint import Checkpointer
from locus.core import interrupt
from locus.inbox import Answerers
from locus.multiagent import END, START, StateGraph


class Priority(StrEnum):
    low = "low"
    high = "high"


class Customer(BaseModel):
    name: str
    vip: bool = False


class Triage(BaseModel):
    priority: Priority
    minutes: int = Field(ge=1, le=480, description="Estimated handling time")
    note: str = Field(min_length=3)
    customer: Customer


def triage_graph(cp: Checkpointer) -> StateGraph:
    graph = StateGraph("support", checkpointer=cp, types=[Priority, Triage, Customer])

    async def triage(state: dict[str, Any]) -> dict[str, Any]:
        answer = interrupt(
            {"question": f"Triage ticket {state['ticket']}", "draft": "Thanks for writing in."},
            response_schema=Triage,
            deadline=dt.timedelta(hours=2),
        )
        return {"triage": answer.model_dump(mode="json")}

    graph.add_node("triage", triage).add_edge(START, "triage").add_edge("triage", END)
    return graph


def refund_graph(cp: Checkpointer) -> StateGraph:
    graph = StateGraph("refunds", checkpointer=cp)

    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        answer = interrupt(
            {
                "type": "tool_approval",
                "tool": "issue_refund",
                "arguments": {"order": state["order"], "amount": 120.0},
                "call_id": "call-1",
                "agent_id": "support-agent",
            },
            answerers=Answerers(roles={"finance"}),
        )
        return {"decision": answer}

    graph.add_node("approve", approve).add_edge(START, "approve").add_edge("approve", END)
    return graph


def choice_graph(cp: Checkpointer) -> StateGraph:
    graph = StateGraph("choices", checkpointer=cp)

    async def pick(state: dict[str, Any]) -> dict[str, Any]:
        return {"picked": interrupt({"question": "Which plan?", "options": ["basic", "pro"]})}

    graph.add_node("pick", pick).add_edge(START, "pick").add_edge("pick", END)
    return graph
