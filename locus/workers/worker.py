"""``Worker``: claims the due threads of some graphs and runs each to its next pause or end."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from locus.errors import (
    CheckpointError,
    ConfigurationError,
    ResumeConflictError,
    StoreUnavailableError,
)
from locus.observe.logs import fields, get_logger
from locus.workers.queue import WorkItem, WorkQueue, queue_for
from locus.workers.run import carry_out

if TYPE_CHECKING:
    from locus.checkpoint import Checkpointer
    from locus.multiagent.graph import StateGraph

__all__ = ["Worker"]

log = get_logger("locus.workers")

#: lease of a worker's thread where the store cannot tell a dead worker (Redis): the
#: longest a dead worker's threads wait for a successor
SHORT_LEASE_SECONDS = 3.0
#: how often a worker applies the timeouts of pauses past their deadline
EXPIRY_SECONDS = 5.0
#: after a claim that found nothing, the least time before the next one
CLAIM_SPACING = 0.01


class Worker:
    """Carries out submitted runs and stored answers of ``graphs``, from any process.

    Claims ready work items of the graphs it serves (by graph name), runs each thread
    until it pauses or finishes, writing every step as ``execute`` does, and removes the
    item. Any number of workers, on any number of machines, may share one store: each
    item is claimed by one of them, and a thread is only ever written by the holder of
    its lease, checked on every write.

    A worker that dies leaves its threads to the others: at once on PostgreSQL and SQLite
    (the store sees its liveness mark vanish, see ``locus.checkpoint.liveness``), after
    its short lease on Redis. A worker that only seemed dead (stopped, partitioned) and
    comes back finds its lease taken and writes nothing.

    A run that raises is retried ``graph.config.max_retries`` times with exponential
    backoff (``retry_backoff`` seconds, doubling), then marked ``failed`` with the error
    stored; ``locus threads retry ID`` makes it ready again.

    Args:
        checkpointer: the store shared with whoever submits and answers.
        graphs: the graphs this worker runs; each is given ``checkpointer``'s store.
        concurrency: the most threads it runs at once.
        poll_seconds: the longest an idle worker waits before looking for work again
            (PostgreSQL and in-process workers are woken at once by new work).
        grace_seconds: on ``stop()``, how long in-flight runs may take to reach their
            next pause or end before they are cancelled and handed back.
        retry_backoff: seconds before the first retry of a failed run.
        lease_seconds: the lease a worker takes on each thread; by default the graph's
            ``lease_seconds``, or 3 seconds on a store that cannot tell a dead worker.

    Raises:
        ConfigurationError: no graphs, two graphs of one name, or ``concurrency`` < 1.
    """

    def __init__(
        self,
        checkpointer: Checkpointer,
        graphs: Iterable[StateGraph],
        *,
        concurrency: int = 4,
        poll_seconds: float = 1.0,
        grace_seconds: float = 30.0,
        retry_backoff: float = 0.5,
        lease_seconds: float | None = None,
    ) -> None:
        self.graphs: dict[str, StateGraph] = {}
        for graph in graphs:
            if graph.name in self.graphs:
                raise ConfigurationError(f"two graphs named {graph.name!r} given to one Worker")
            self.graphs[graph.name] = graph
        if not self.graphs:
            raise ConfigurationError("a Worker needs at least one graph to run")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigurationError(f"concurrency must be an int >= 1, got {concurrency!r}")
        for graph in self.graphs.values():
            if graph.checkpointer is not checkpointer:
                graph.compile(checkpointer=checkpointer)
        self.checkpointer = checkpointer
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.grace_seconds = grace_seconds
        self.retry_backoff = retry_backoff
        self.lease_seconds = lease_seconds
        self.queue: WorkQueue = queue_for(checkpointer)
        self.mark: str | None = None
        self._tasks: dict[asyncio.Task[None], WorkItem] = {}
        self._stop = asyncio.Event()
        self._changed = asyncio.Event()
        # ready threads just tried (held by another worker, say): not again until then
        self._backoff: dict[str, float] = {}
        self._next_expiry = 0.0
        self._empty_at = 0.0
        self._finishes = _Batch(self._finish_batch)
        self.completed = 0

    def stop(self) -> None:
        """Stop claiming; ``run()`` returns once in-flight runs finish or the grace ends."""
        self._stop.set()
        self._changed.set()

    @property
    def holding(self) -> list[str]:
        """The thread ids this worker is running now."""
        return [item.thread_id for item in self._tasks.values()]

    async def run(self) -> None:
        """Claim and run work until ``stop()``; then drain (see ``grace_seconds``).

        A store that fails while claiming is retried every ``poll_seconds``.

        Raises:
            StoreUnavailableError: the worker lost its session with the store (PostgreSQL):
                others may take its threads, so it stops after draining.
        """
        queue = self.queue
        await queue.setup()
        self.mark = await queue.hold_mark()
        names = list(self.graphs)
        log.info(
            "worker %s serving %s with concurrency %d",
            self.mark,
            ", ".join(names),
            self.concurrency,
            extra=fields(worker=self.mark),
        )
        next_reap = 0.0
        # the last claim came back short: nothing more was ready then, so a run finishing
        # is no reason to claim again; new work wakes us (notify or poll) instead
        drained = False
        try:
            while not self._stop.is_set():
                if queue.mark_lost():
                    raise StoreUnavailableError(
                        f"worker {self.mark} lost its session with the store, so other "
                        "workers take its threads over; it stops (start it again)"
                    )
                try:
                    now = time.monotonic()
                    if now >= next_reap:
                        next_reap = now + min(1.0, self.poll_seconds)
                        await self._reap(names)
                    free = self.concurrency - len(self._tasks)
                    if free > 0 and self._empty_at and self.queue.wakes_all:
                        # every idle worker is woken by each notify; one that just found
                        # nothing lets notifies gather a moment, claiming once for them all
                        await asyncio.sleep(
                            max(0.0, self._empty_at + CLAIM_SPACING - time.monotonic())
                        )
                    claimed = await self._claim(names)
                    claimed += await self._claim_ready(names)
                except CheckpointError as exc:
                    # the store is briefly unreachable: what runs carries on, claims resume
                    log.warning("worker %s cannot claim work: %s", self.mark, exc)
                    await self._idle(names, full=True)
                    continue
                if free > 0:
                    drained = claimed < free
                    self._empty_at = time.monotonic() if claimed == 0 else 0.0
                if claimed and not drained:
                    continue
                await self._idle(names, full=len(self._tasks) >= self.concurrency, drained=drained)
        finally:
            await self._drain()
            await self._finishes.flush()
            await queue.close()

    async def _reap(self, names: list[str]) -> None:
        """Take back the work of dead or stalled workers; show ours is alive."""
        assert self.mark is not None
        await self.queue.keep(list(self._tasks.values()), self.mark)
        await self._expire_due()
        count, taken = await self.queue.reap(names, self.mark)
        if count:
            log.info(
                "worker %s took back %d items of dead or stalled workers",
                self.mark,
                count,
                extra=fields(worker=self.mark),
            )
        for item in taken:
            self._start(item)

    async def _expire_due(self) -> None:
        """Apply the timeouts of pauses past their deadline (``locus.inbox``), every few
        seconds; a timeout that resumes the thread marks it ready for a worker."""
        now = time.monotonic()
        if now < self._next_expiry:
            return
        self._next_expiry = now + EXPIRY_SECONDS
        try:
            from locus.inbox import Inbox  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            self._next_expiry = float("inf")  # this release keeps no deadlines
            return
        try:
            applied = await Inbox(self.checkpointer).expire_due()
        except CheckpointError as exc:
            log.warning("could not apply due timeouts: %s", exc, extra=fields(worker=self.mark))
            return
        if applied:
            log.info(
                "applied %d due timeouts",
                len(applied),
                extra=fields(worker=self.mark),
            )

    def _start(self, item: WorkItem) -> None:
        task = asyncio.ensure_future(self._carry(item))
        self._tasks[task] = item
        task.add_done_callback(self._done)

    async def _claim(self, names: list[str]) -> int:
        free = self.concurrency - len(self._tasks)
        if free <= 0:
            return 0
        assert self.mark is not None
        limited = {
            n: g.config.max_concurrency
            for n, g in self.graphs.items()
            if g.config.max_concurrency is not None
        }
        if limited:
            running: dict[str, int] = {}
            for item in self._tasks.values():
                running[item.graph] = running.get(item.graph, 0) + 1
            names = [n for n in names if n not in limited or running.get(n, 0) < limited[n]]
            if not names:
                return 0
            free = min(free, *(limited[n] - running.get(n, 0) for n in names if n in limited))
        items = await self.queue.claim(names, self.mark, free)
        for item in items:
            self._start(item)
        return len(items)

    async def _claim_ready(self, names: list[str]) -> int:
        """Start threads the inbox marked ready (a complete answer stored), if the store
        keeps such marks (``Checkpointer.list_ready``)."""
        list_ready = getattr(self.checkpointer, "list_ready", None)
        free = self.concurrency - len(self._tasks)
        if list_ready is None or free <= 0 or self.queue.claims_ready:
            return 0
        now = time.monotonic()
        self._backoff = {t: until for t, until in self._backoff.items() if until > now}
        holding = set(self.holding)
        running: dict[str, int] = {}
        for item in self._tasks.values():
            running[item.graph] = running.get(item.graph, 0) + 1
        started = 0
        for name in names:
            room = free - started
            limit = self.graphs[name].config.max_concurrency
            if limit is not None:
                room = min(room, limit - running.get(name, 0))
            if room <= 0:
                continue
            ids: list[str] = await list_ready(name, limit=room + len(holding) + len(self._backoff))
            for tid in ids:
                if room <= 0:
                    break
                if tid in holding or tid in self._backoff:
                    continue
                if await self.queue.get(tid) is not None:
                    continue  # queued work of its own (a failed resume): retried from there
                self._backoff[tid] = now + min(1.0, self.poll_seconds)
                self._start(
                    WorkItem(
                        thread_id=tid,
                        graph=name,
                        kind="ready",
                        payload=b"",
                        token="ready-" + os.urandom(8).hex(),
                    )
                )
                holding.add(tid)
                started += 1
                room -= 1
        return started

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        self._changed.set()

    async def _idle(self, names: list[str], *, full: bool, drained: bool = False) -> None:
        self._changed.clear()
        waiters: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(
                self._stop.wait() if drained and not full else self._changed.wait()
            )
        ]
        if not full:
            waiters.append(asyncio.ensure_future(self.queue.wait(names, self.poll_seconds)))
        try:
            await asyncio.wait(waiters, timeout=self.poll_seconds, return_when="FIRST_COMPLETED")
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def _carry(self, item: WorkItem) -> None:
        graph = self.graphs[item.graph]
        assert self.mark is not None
        owner = f"{self.mark}.{os.urandom(6).hex()}"
        lease = self.lease_seconds or (
            graph.config.lease_seconds if self.queue.has_liveness else SHORT_LEASE_SECONDS
        )
        where = fields(graph=item.graph, thread_id=item.thread_id, worker=self.mark)
        log.info("claimed thread %r (%s)", item.thread_id, item.kind, extra=where)
        while True:
            started = time.monotonic()
            try:
                carried = await carry_out(graph, item, owner, lease)
            except asyncio.CancelledError:
                raise
            except ResumeConflictError as exc:
                await self._conflict(item, exc)
                return
            except Exception as exc:
                item.attempts += 1
                error = f"{type(exc).__name__}: {exc}"
                if item.attempts > graph.config.max_retries:
                    log.warning(
                        "thread %r failed after %d attempts: %s",
                        item.thread_id,
                        item.attempts,
                        error,
                        extra={**where, "attempts": item.attempts},
                    )
                    await self._settle(self._fail(item, error))
                    return
                delay = self.retry_backoff * 2 ** (item.attempts - 1)
                log.info(
                    "thread %r attempt %d failed, retrying in %.1f s: %s",
                    item.thread_id,
                    item.attempts,
                    delay,
                    error,
                    extra={**where, "attempts": item.attempts},
                )
                await asyncio.sleep(delay)
                continue
            self.completed += 1
            log.info(
                "thread %r %s after step %d (%.1f ms)",
                item.thread_id,
                {"paused": "paused", "done": "finished", "nothing": "was already carried out"}[
                    carried.outcome
                ],
                carried.steps,
                (time.monotonic() - started) * 1e3,
                extra={**where, "outcome": carried.outcome, "steps": carried.steps},
            )
            if not item.token.startswith("ready-"):
                await self._finishes.add(item)
            return

    async def _conflict(self, item: WorkItem, exc: ResumeConflictError) -> None:
        """The thread is held by another execution, or this one lost its lease."""
        if item.kind == "ready" and item.token.startswith("ready-"):
            return  # listed again while its ready mark stays, until someone resumes it
        held = await self.queue.get(item.thread_id)
        where = fields(graph=item.graph, thread_id=item.thread_id, worker=self.mark)
        if held is None or held.token != item.token or held.claimed_by != self.mark:
            # presumed dead and taken over: the successor owns the item now
            log.warning("lost thread %r to another worker: %s", item.thread_id, exc, extra=where)
            return
        log.info("thread %r is held by another execution: %s", item.thread_id, exc, extra=where)
        await asyncio.sleep(min(1.0, self.poll_seconds))
        await self._settle(self.queue.unclaim(item))

    async def _fail(self, item: WorkItem, error: str) -> None:
        if item.kind == "ready" and item.token.startswith("ready-"):
            # not queued until now: queue it, so it is shown failed and `retry` applies
            item.token = "failed-" + item.token
            await self.queue.enqueue(item)
        await self.queue.fail(item, error)

    async def _finish_batch(self, items: list[WorkItem]) -> None:
        await self._settle(self.queue.finish(items))

    async def _settle(self, write: Awaitable[None]) -> None:
        """Record an item's fate; a store failure leaves the item to be claimed again."""
        try:
            await write
        except CheckpointError as exc:
            log.warning("could not record a work item's outcome: %s", exc)

    async def _drain(self) -> None:
        if not self._tasks:
            return
        log.info(
            "worker %s draining %d runs (grace %.1f s)",
            self.mark,
            len(self._tasks),
            self.grace_seconds,
            extra=fields(worker=self.mark),
        )
        pending = set(self._tasks)
        _, late = await asyncio.wait(pending, timeout=self.grace_seconds)
        items = [self._tasks[t] for t in late if t in self._tasks]
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        for item in items:
            with contextlib.suppress(CheckpointError):
                await self.queue.unclaim(item)
            log.info(
                "handed back thread %r unfinished",
                item.thread_id,
                extra=fields(graph=item.graph, thread_id=item.thread_id, worker=self.mark),
            )


class _Batch:
    """Group commit: the first item is written at once; those that come while a write is
    under way go together in the next one (no waiting added, fewer round trips under load).
    """

    def __init__(self, write: Callable[[list[WorkItem]], Awaitable[None]]) -> None:
        self._write = write
        self._pending: list[tuple[WorkItem, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, item: WorkItem) -> None:
        """Write ``item`` with whatever else is waiting; return once it is written."""
        done = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._drain())
        await asyncio.shield(done)

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await self._write([item for item, _ in batch])
                finally:
                    for _, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._writer = None

    async def flush(self) -> None:
        """Wait for the writes under way or waiting."""
        writer = self._writer
        if writer is not None:
            await asyncio.gather(writer, return_exceptions=True)
