"""The graph the worker-process tests run: ``locus worker desk_app:graph``.

Every side effect is a line appended to ``$DESK_ACTIONS``: ``<what> <thread> <pid> <time>``.
Knobs (environment): ``DESK_SLOW`` seconds the ``work`` node sleeps; ``DESK_FAIL_FLAG`` a
file whose presence makes ``work`` raise; ``DESK_RETRIES`` the graph's ``max_retries``;
``DESK_LEASE`` its ``lease_seconds``.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from locus.core.interrupt import interrupt
from locus.core.journal import once
from locus.multiagent.graph import END, START, StateGraph


def act(what: str, thread: str) -> str:
    with open(os.environ["DESK_ACTIONS"], "a") as log:
        log.write(f"{what} {thread} {os.getpid()} {time.time():.3f}\n")
    return what


def _exists(path: str) -> bool:
    return os.path.exists(path)


async def triage(state: dict[str, Any]) -> dict[str, Any]:
    await once("triage", act, "triage", state["ticket"])
    return {"triaged": True}


async def work(state: dict[str, Any]) -> dict[str, Any]:
    act("work-start", state["ticket"])
    flag = os.environ.get("DESK_FAIL_FLAG")
    if flag and _exists(flag):
        raise RuntimeError("the helpdesk API is down")
    await asyncio.sleep(float(os.environ.get("DESK_SLOW") or 0))
    await once("work", act, "work", state["ticket"])
    return {"worked_by": os.getpid()}


def review(state: dict[str, Any]) -> dict[str, Any]:
    return {"answer": interrupt({"ticket": state["ticket"], "question": "close it?"})}


async def close(state: dict[str, Any]) -> dict[str, Any]:
    await once("close", act, "close", state["ticket"])
    return {"closed_by": os.getpid()}


def build() -> StateGraph:
    g = StateGraph("desk")
    g.add_node("triage", triage)
    g.add_node("work", work)
    g.add_node("review", review)
    g.add_node("close", close)
    g.add_edge(START, "triage")
    g.add_edge("triage", "work")
    g.add_edge("work", "review")
    g.add_edge("review", "close")
    g.add_edge("close", END)
    g.config.max_retries = int(os.environ.get("DESK_RETRIES") or 3)
    g.config.lease_seconds = float(os.environ.get("DESK_LEASE") or 30)
    return g


graph = build()
