"""Carry out one claimed work item: what to run is read from the thread's stored state.

An item may be claimed again after its worker died at any point, so the item alone never
says what to do; the thread does. Every checkpoint an item's execution writes carries the
item's token in its run record:

* a ``start`` item whose thread has no checkpoint starts the run with its inputs (a run
  that died in its first step left nothing, and starts anew); one whose thread is finished
  and was not written by this item starts a new run over the stored values;
* a thread written by this item that is still ``running`` continues (only the step that
  was in flight runs again); one that is ``paused`` or ``done`` needs nothing: the item
  was carried out and only its removal was lost;
* a ``resume`` item applies its answers to a paused thread;
* a ``ready`` thread (answers stored by ``locus.inbox``) is resumed with
  ``execute(None, ...)``, which consumes its ready mark in its first write.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from locus.core.command import Command
from locus.core.events import NodeFinishedEvent, NodeStartedEvent
from locus.errors import (
    InvalidInputError,
    MissingResumeError,
    NodeTimeoutError,
    NothingToResumeError,
    ThreadNotFoundError,
)
from locus.workers.queue import WorkItem, decode_payload

if TYPE_CHECKING:
    from locus.multiagent.graph import StateGraph
    from locus.multiagent.result import GraphResult

__all__ = ["WORK_KEY", "Carried", "carry_out"]

#: run-record key holding the token of the work item whose execution wrote a checkpoint
WORK_KEY = "work"


@dataclass(frozen=True, slots=True)
class Carried:
    """What carrying out an item did.

    Attributes:
        outcome: ``"paused"``, ``"done"`` or ``"nothing"`` (it had been carried out).
        steps: the run's step count afterwards.
    """

    outcome: Literal["paused", "done", "nothing"]
    steps: int = 0


async def carry_out(graph: StateGraph, item: WorkItem, owner: str, lease_seconds: float) -> Carried:
    """Run the item's thread until it pauses or finishes, holding its lease as ``owner``.

    Raises:
        ResumeConflictError: another execution holds the thread, or this one lost its
            lease (it was presumed dead and taken over): nothing more was written.
        InvalidInputError, NothingToResumeError, ThreadNotFoundError: the thread is in no
            state this item can apply to.
        NodeTimeoutError: a node ran past ``graph.config.node_timeout``.
        Whatever the run raised (``NodeExecutionError``, ...): the failed step was not
            stored.
    """
    cp = graph._checkpointer()
    if item.kind == "ready":
        return await _carry_ready(graph, item, owner, lease_seconds)
    if item.claims == 1 and item.attempts == 0:
        # nothing of this item ran anywhere yet: no need to look at the thread first
        return await _execute(graph, item, owner, lease_seconds, decode_payload(item, cp))
    stored = await cp.get(item.thread_id)
    ours = stored is not None and stored.run.get(WORK_KEY) == item.token
    inputs: Mapping[str, Any] | Command | None
    if ours and stored is not None and stored.status != "running":
        return Carried("nothing")
    if ours:
        inputs = None
    elif item.kind == "start":
        if stored is not None and stored.status != "done":
            raise InvalidInputError(
                f"thread {item.thread_id!r} is {stored.status} by another execution; the "
                "submitted run cannot start on it"
            )
        inputs = decode_payload(item, cp)
    else:
        if stored is None:
            raise ThreadNotFoundError(f"no stored thread {item.thread_id!r} to resume")
        if stored.status != "paused":
            raise NothingToResumeError(
                f"thread {item.thread_id!r} is {stored.status!r}; its stored answer has "
                "nothing to resume"
            )
        inputs = decode_payload(item, cp)
    return await _execute(graph, item, owner, lease_seconds, inputs)


async def _carry_ready(
    graph: StateGraph, item: WorkItem, owner: str, lease_seconds: float
) -> Carried:
    """Resume a thread the inbox marked ready: ``execute(None, ...)`` applies its answers."""
    try:
        return await _execute(graph, item, owner, lease_seconds, None)
    except (MissingResumeError, NothingToResumeError, ThreadNotFoundError):
        return Carried("nothing")  # resumed by someone else meanwhile, or deleted


async def _execute(
    graph: StateGraph,
    item: WorkItem,
    owner: str,
    lease_seconds: float,
    inputs: Mapping[str, Any] | Command | None,
) -> Carried:
    from locus.multiagent.durable import ThreadRunner

    runner = ThreadRunner(
        graph._checkpointer(),
        graph.name,
        float(graph.config.lease_seconds),
        identity=graph.identity(),
        on_change=graph.on_graph_change,
    )
    timeout = graph.config.node_timeout
    watch = None if timeout is None else _Watch(timeout, graph.name)
    run = runner.run(
        graph._prepare(),
        inputs,
        item.thread_id,
        watch,
        owner=owner,
        record={WORK_KEY: item.token},
        lease_seconds=lease_seconds,
    )
    result = await (run if watch is None else watch.run(run))
    return Carried("paused" if result.interrupts else "done", result.steps)


class _Watch:
    """Fails an execution whose node runs past ``timeout`` (nodes seen through its events)."""

    def __init__(self, timeout: float, graph: str) -> None:
        self.timeout = timeout
        self.graph = graph
        self.started: dict[str, float] = {}

    def __call__(self, event: Any) -> None:
        if isinstance(event, NodeStartedEvent):
            self.started[event.node] = time.monotonic()
        elif isinstance(event, NodeFinishedEvent):
            self.started.pop(event.node, None)

    async def run(self, coro: Coroutine[Any, Any, GraphResult]) -> GraphResult:
        task = asyncio.ensure_future(coro)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=min(self.timeout / 4, 1.0))
                if done:
                    return task.result()
                now = time.monotonic()
                late = [n for n, t in self.started.items() if now - t > self.timeout]
                if late:
                    raise NodeTimeoutError(
                        f"node {late[0]!r} of graph {self.graph!r} ran longer than its "
                        f"node_timeout of {self.timeout} s; the step was not stored",
                        node=late[0],
                    )
        finally:
            if not task.done():
                task.cancel()  # the execution hands its lease back as it unwinds
                await asyncio.gather(task, return_exceptions=True)
