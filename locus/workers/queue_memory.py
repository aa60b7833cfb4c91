"""The work queue of a ``MemoryCheckpointer``: workers inside the submitting process."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence

from locus.checkpoint import MemoryCheckpointer
from locus.workers.queue import WorkItem, WorkQueue, WorkState

__all__ = ["MemoryQueue"]


class MemoryQueue(WorkQueue):
    """Work items in a dict; a claim is a state change, a wake-up an ``asyncio.Event``."""

    def __init__(self, checkpointer: MemoryCheckpointer) -> None:
        super().__init__(checkpointer)
        self._items: dict[str, WorkItem] = {}
        self._changed: asyncio.Event | None = None

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    async def enqueue(self, item: WorkItem) -> bool:
        if item.thread_id in self._items:
            return False
        self._items[item.thread_id] = dataclasses.replace(item, state="ready", claims=0)
        self._event().set()
        return True

    async def replace(self, old: WorkItem, new: WorkItem) -> bool:
        if self._held(old) is None:
            return False
        self._items[new.thread_id] = dataclasses.replace(new, state="ready", claims=0)
        self._event().set()
        return True

    async def claim(self, graphs: Sequence[str], mark: str, limit: int) -> list[WorkItem]:
        ready = [i for i in self._items.values() if i.state == "ready" and i.graph in graphs]
        ready.sort(key=lambda i: (-i.priority, i.queued_at))
        taken = []
        for item in ready[:limit]:
            item.state, item.claimed_by, item.claims = "claimed", mark, item.claims + 1
            taken.append(dataclasses.replace(item))
        return taken

    def _held(self, item: WorkItem) -> WorkItem | None:
        held = self._items.get(item.thread_id)
        return held if held is not None and held.token == item.token else None

    async def finish(self, items: Sequence[WorkItem]) -> None:
        for item in items:
            if self._held(item) is not None:
                del self._items[item.thread_id]

    async def fail(self, item: WorkItem, error: str) -> None:
        held = self._held(item)
        if held is not None:
            held.state, held.error, held.attempts, held.claimed_by = (
                "failed",
                error,
                item.attempts,
                None,
            )

    async def unclaim(self, item: WorkItem) -> None:
        held = self._held(item)
        if held is not None and held.state == "claimed":
            held.state, held.claimed_by = "ready", None
            self._event().set()

    async def retry(self, thread_id: str) -> bool:
        held = self._items.get(thread_id)
        if held is None or held.state != "failed":
            return False
        held.state, held.attempts, held.error, held.queued_at = "ready", 0, None, time.time()
        self._event().set()
        return True

    async def reap(self, graphs: Sequence[str], mark: str) -> tuple[int, list[WorkItem]]:
        return 0, []  # every worker lives in this process

    async def get(self, thread_id: str) -> WorkItem | None:
        held = self._items.get(thread_id)
        return None if held is None else dataclasses.replace(held)

    async def items(
        self, state: WorkState | None = None, graph: str | None = None, limit: int = 100
    ) -> list[WorkItem]:
        found = [
            dataclasses.replace(i)
            for i in self._items.values()
            if (state is None or i.state == state) and (graph is None or i.graph == graph)
        ]
        found.sort(key=lambda i: i.queued_at)
        return found[:limit]

    async def wait(self, graphs: Sequence[str], seconds: float) -> None:
        event = self._event()
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            return
        event.clear()
