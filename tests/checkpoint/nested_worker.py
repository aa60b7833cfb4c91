"""A worker process running a 3-deep nested graph on a shared store; prints one JSON line.

Usage: nested_worker.py BACKEND TARGET MODE THREAD ROOT
  MODE  start  -- run a new thread until it pauses
        resume -- answer the pause with "yes"
Every node appends its name to the file $LOCUS_TEST_EFFECTS.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

sys.path.insert(0, sys.argv[-1])  # the repository root, passed last

from graph_worker import open_checkpointer

from locus.checkpoint import Checkpointer
from locus.core import Command, interrupt
from locus.multiagent import END, START, StateGraph


def record(effect: str) -> None:
    with open(os.environ["LOCUS_TEST_EFFECTS"], "a") as log:
        log.write(effect + "\n")


def build(checkpointer: Checkpointer) -> StateGraph:
    def step(name: str, ask: bool = False) -> Any:
        def node(state: dict[str, Any]) -> dict[str, Any]:
            record(name)
            return {name: interrupt(f"{name}?") if ask else True}

        return node

    inner = StateGraph("approval")
    inner.add_node("check", step("check")).add_node("approve", step("approve", ask=True))
    inner.add_edge(START, "check").add_edge("check", "approve").add_edge("approve", END)
    middle = StateGraph("refund")
    middle.add_node("prepare", step("prepare")).add_node("approval", inner)
    middle.add_edge(START, "prepare").add_edge("prepare", "approval").add_edge("approval", END)
    top = StateGraph("order", checkpointer=checkpointer)
    top.add_node("intake", step("intake")).add_node("refund", middle)
    top.add_edge(START, "intake").add_edge("intake", "refund").add_edge("refund", END)
    return top


async def main(backend: str, target: str, mode: str, thread: str) -> None:
    async with open_checkpointer(backend, target) as cp:
        graph = build(cp)
        if mode == "start":
            result = await graph.execute({"order": thread}, thread_id=thread)
        else:
            result = await graph.execute(Command(resume="yes"), thread_id=thread)
        paused = [i.node_id for i in result.interrupts]
        print(json.dumps({"paused": paused, "state": result.final_state}, default=str))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:-1]))
