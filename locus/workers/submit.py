"""``graph.submit`` and ``graph.result``: store a run for workers, and wait for its outcome."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from locus.core.command import Command
from locus.errors import (
    InvalidInputError,
    ResultTimeoutError,
    RunFailedError,
    ThreadNotFoundError,
)
from locus.workers.queue import WorkItem, WorkQueue, encode_payload, queue_for

if TYPE_CHECKING:
    from locus.checkpoint import Checkpointer
    from locus.multiagent.durable import ThreadState
    from locus.multiagent.graph import StateGraph

__all__ = ["result", "submit"]


async def submit(
    graph: StateGraph,
    inputs: Mapping[str, Any] | Command,
    *,
    thread_id: str | None = None,
    priority: int = 0,
) -> str:
    """Store a run (or, with a ``Command``, answers to a paused thread) for a worker.

    Returns at once; a ``Worker`` serving the graph carries it out. See
    ``StateGraph.submit``.

    Returns:
        The thread id (a new random one when none is given).

    Raises:
        InvalidInputError: the thread exists and is not finished (or, for a ``Command``,
            is not paused), or it already has work queued; ``inputs`` is neither a dict
            nor a ``Command``.
        ThreadNotFoundError: a ``Command`` for a thread that does not exist.
        StateSerializationError: an input or answer cannot be stored (named).
        ConfigurationError: the graph has no checkpointer.
    """
    cp = graph._checkpointer()
    queue = queue_for(cp)
    await queue.setup()
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidInputError(f"priority must be an int, got {priority!r}")
    tid = thread_id or os.urandom(12).hex()
    kind: Literal["start", "resume"]
    if isinstance(inputs, Command):
        kind = "resume"
    elif isinstance(inputs, Mapping):
        kind = "start"
    else:
        raise InvalidInputError(
            f"graph {graph.name!r}: submit takes a dict of inputs or a Command, got "
            f"{type(inputs).__name__}"
        )
    item = WorkItem(
        thread_id=tid,
        graph=graph.name,
        kind=kind,
        payload=encode_payload(inputs, tid, cp),
        token=os.urandom(12).hex(),
        priority=priority,
    )
    if await queue.enqueue_checked(item):
        return tid
    # not stored: find out why (or store it after the checks, where the store cannot check)
    stored = await cp.get(tid)
    if kind == "resume":
        if stored is None:
            raise ThreadNotFoundError(f"no stored thread {tid!r}: there is nothing to answer")
        if stored.status != "paused":
            raise InvalidInputError(
                f"thread {tid!r} is {stored.status!r}, not paused: there is nothing to answer"
            )
    elif stored is not None and stored.status != "done":
        raise InvalidInputError(
            f"thread {tid!r} is {stored.status!r}: a new run can only be submitted on a "
            "new or finished thread (answer it, or delete it first)"
        )
    if stored is not None and stored.graph != graph.name:
        raise InvalidInputError(
            f"thread {tid!r} belongs to graph {stored.graph!r}, not {graph.name!r}"
        )
    if not await queue.enqueue(item) and not await _replace_carried_out(queue, cp, item):
        raise InvalidInputError(
            f"thread {tid!r} already has work queued or running; wait for it with "
            "graph.result(thread_id) first"
        )
    return tid


async def _replace_carried_out(queue: WorkQueue, cp: Checkpointer, item: WorkItem) -> bool:
    """Put ``item`` in place of the thread's item if that one was carried out already.

    A worker removes an item just after the write that paused or finished its run; an
    answer submitted in between finds the old item still there. The thread's latest
    checkpoint, written by that item (its token in the run record), tells it is done.
    """
    from locus.workers.run import WORK_KEY

    for _ in range(3):  # the worker may remove the old item meanwhile: look again
        held = await queue.get(item.thread_id)
        if held is None:
            if await queue.enqueue(item):
                return True
            continue
        stored = await cp.get(item.thread_id)
        if stored is None or stored.status == "running" or stored.run.get(WORK_KEY) != held.token:
            return False
        if await queue.replace(held, item):
            return True
    return False


async def _ready(cp: Checkpointer, thread_id: str) -> bool:
    """Whether the inbox stored a complete answer a worker has yet to resume it with."""
    return thread_id in await cp.ready_among([thread_id])


async def result(
    graph: StateGraph,
    thread_id: str,
    *,
    timeout: float | None = None,  # noqa: ASYNC109 - graph.result's documented argument
    poll: float = 0.02,
) -> ThreadState:
    """Wait until the thread's queued work (or an answer the inbox stored) is carried out:
    it paused or finished.

    Returns:
        The thread's state (``status`` ``"paused"`` with its ``interrupts``, or ``"done"``).

    Raises:
        RunFailedError: a worker gave up on it after its retries (the stored error is
            the message; ``locus threads retry`` re-queues it).
        ResultTimeoutError: it did not pause or finish within ``timeout`` seconds.
        ThreadNotFoundError: no such thread and no work queued for it.
    """
    from locus.multiagent.durable import thread_state

    cp = graph._checkpointer()
    queue = queue_for(cp)
    await queue.setup()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        item = await queue.get(thread_id)
        if item is not None and item.state == "failed":
            raise RunFailedError(
                f"thread {thread_id!r} of graph {item.graph!r} failed after {item.attempts} "
                f"attempts: {item.error}; re-queue it with `locus threads retry {thread_id}`"
            )
        if item is None:
            try:
                state = await thread_state(cp, thread_id)
            except ThreadNotFoundError:
                state = None
                if await queue.get(thread_id) is None:
                    raise
            finished = state is not None and state.status in ("paused", "done")
            if finished and await queue.get(thread_id) is None and not await _ready(cp, thread_id):
                assert state is not None
                return state
        if deadline is not None and time.monotonic() >= deadline:
            raise ResultTimeoutError(
                f"thread {thread_id!r} did not pause or finish within {timeout} s"
                + (f" (its work is {item.state})" if item is not None else "")
                + "; is a worker serving graph "
                + repr(graph.name)
                + "?"
            )
        await asyncio.sleep(poll)
