"""04 — Durable pauses: pause in one command, resume in another, on SQLite.

A refund ticket is drafted by an agent and waits for a manager's approval. The pause is
stored in an SQLite file (no server, no setup), so the answer can come from another
process, hours later:

    python examples/04_durable_pause.py pause          # drafts the reply, pauses
    python examples/04_durable_pause.py inbox          # what is waiting for a human
    python examples/04_durable_pause.py resume yes     # approves it, in a new process

Run with no arguments it does all three, each in its own process.

What to notice:
1. The second process builds the graph anew and resumes by thread id alone.
2. The agent's model call is not repeated on resume: the node's journal replays it.
3. Resuming the same ticket twice is refused: ``ResumeConflictError``, not a double refund.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

from locus.agent import Agent, AgentConfig
from locus.checkpoint import SQLiteCheckpointer
from locus.core import Command, interrupt
from locus.errors import NothingToResumeError, ResumeConflictError, ThreadNotFoundError
from locus.models import MockModel
from locus.multiagent import END, START, StateGraph

DB = Path(__file__).resolve().parent.parent / ".locus" / "durable_pause.db"
THREAD = "ticket-42"

# %% 1. The workflow ------------------------------------------------------------------------


def draft_model() -> MockModel:
    """Offline stand-in for an LLM; prints when it is really called."""

    def reply(messages: Any, info: Any) -> str:
        print("   (model called)")
        return "We are sorry order #42 never arrived; a full refund of $249 is on its way."

    return MockModel(function=reply)


def build_graph() -> StateGraph:
    drafter = Agent(config=AgentConfig(agent_id="drafter", model=draft_model()))

    async def draft(state: dict[str, Any]) -> dict[str, Any]:
        reply = (await drafter.arun(f"Draft a refund reply for: {state['request']}")).text
        decision = interrupt({"question": "Send this refund reply?", "draft": reply})
        return {"draft": reply, "approved": decision == "yes"}

    async def send(state: dict[str, Any]) -> dict[str, Any]:
        if not state["approved"]:
            return {"outcome": "held back by the manager"}
        return {"outcome": f"sent: {state['draft']}"}

    # The file and its .locus/ folder are created on first use, by whichever command runs first.
    graph = StateGraph("refund-approval", checkpointer=SQLiteCheckpointer(DB))
    graph.add_node("draft", draft).add_node("send", send)
    graph.add_edge(START, "draft").add_edge("draft", "send").add_edge("send", END)
    return graph


# %% 2. The commands -------------------------------------------------------------------------


async def pause() -> None:
    graph = build_graph()
    async with graph.checkpointer as checkpointer:
        await checkpointer.delete_thread(THREAD)  # a fresh demo each time
        result = await graph.execute({"request": "Order #42 never arrived."}, thread_id=THREAD)
        assert result.interrupt is not None
        print(f"paused thread {THREAD!r} at node {result.interrupt.node_id!r}")
        print("draft:", result.interrupt.interrupt.payload["draft"])


async def inbox() -> None:
    async with build_graph().checkpointer as checkpointer:
        page = await checkpointer.list_pending(limit=10)
        if not page.items:
            print("nothing is waiting for a human (run `pause` first)")
        for item in page.items:
            print(f"waiting: thread {item.thread_id!r}, node {item.node!r}, id {item.interrupt_id}")
            print(f"         {item.payload['question']}")


async def resume(answer: str) -> None:
    graph = build_graph()
    async with graph.checkpointer:
        try:
            result = await graph.execute(Command(resume=answer), thread_id=THREAD)
        except (ThreadNotFoundError, NothingToResumeError) as exc:
            print(f"{exc}; run `pause` first")
            return
        print("outcome:", result.final_state["outcome"])
        try:
            await graph.execute(Command(resume=answer), thread_id=THREAD)
        except ResumeConflictError as exc:
            print("second resume refused:", exc)


def run_all_in_separate_processes() -> None:
    for command in (["pause"], ["inbox"], ["resume", "yes"]):
        print(f"$ python examples/04_durable_pause.py {' '.join(command)}")
        subprocess.run([sys.executable, __file__, *command], check=True)
        print()


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["pause"]:
            asyncio.run(pause())
        case ["inbox"]:
            asyncio.run(inbox())
        case ["resume", answer]:
            asyncio.run(resume(answer))
        case []:
            run_all_in_separate_processes()
        case other:
            sys.exit(f"usage: 04_durable_pause.py [pause | inbox | resume ANSWER], got {other}")
