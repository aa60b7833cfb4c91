"""The lease of a stored thread, as one execution takes, keeps and hands it back.

Nothing may leave a thread locked until its lease expires: not a failure, and not an
asyncio cancellation at any await point. A lease call that was cancelled half-way may
still take effect in the store, and then nobody would know to hand the lease back; so
taking and handing back a lease always runs to its end (``finish``), and a cancellation
that arrived meanwhile is raised afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Coroutine, Generator
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from locus.errors import CheckpointError, ResumeConflictError

if TYPE_CHECKING:
    from locus.checkpoint import Checkpointer, StoredCheckpoint

__all__ = ["finish", "hand_back", "heartbeat", "take"]

T = TypeVar("T")


async def take(
    checkpointer: Checkpointer, thread_id: str, owner: str, lease: float
) -> StoredCheckpoint | None:
    """Acquire the thread for ``owner``; on any failure or cancellation, hold nothing.

    Raises:
        ResumeConflictError: another owner holds the thread.
        Whatever ``acquire`` raised (the lease is handed back first), or
        ``CancelledError``.
    """
    try:
        return await finish(checkpointer.acquire(thread_id, owner, lease_seconds=lease))
    except ResumeConflictError:
        raise  # someone else holds it; there is nothing of ours to hand back
    except BaseException:
        # Cancelled, or failed after the lease was taken (a damaged record, a lost reply).
        await hand_back(checkpointer, thread_id, owner)
        raise


async def hand_back(checkpointer: Checkpointer, thread_id: str, owner: str) -> None:
    """Release ``owner``'s lease, to the end even if cancelled meanwhile.

    Only called while an error propagates, and that error is the one to report: a store
    that cannot take the release now lets the lease expire by itself.
    """
    with contextlib.suppress(CheckpointError):
        await finish(checkpointer.release(thread_id, owner))


async def heartbeat(checkpointer: Checkpointer, thread_id: str, owner: str, lease: float) -> None:
    """Renew the lease every third of its length until cancelled or lost."""
    while True:
        await asyncio.sleep(lease / 3)
        try:
            await checkpointer.renew(thread_id, owner, lease)
        except ResumeConflictError:
            return  # the lease is lost: the next put fails with ResumeConflictError
        except CheckpointError:
            # The store is briefly unreachable: the lease still runs, renew at the next beat.
            continue


def finish(coro: Coroutine[Any, Any, T]) -> Awaitable[T]:
    """Await ``coro`` to its end even if the awaiting task is cancelled meanwhile.

    A cancellation that arrives while ``coro`` waits does not reach it: ``coro`` carries
    on, and ``CancelledError`` is raised once it has finished (its result or error is then
    dropped). Unlike ``asyncio.shield`` this needs no task of its own, so a call that
    never waits costs nothing extra.
    """
    return _Finish(coro)


class _Finish(Generic[T]):
    """Drives a coroutine from the awaiting task, standing in for each future it waits on.

    A task cancels by cancelling the future it waits on; here that is a stand-in, so the
    coroutine's own future (a query, a write) is never cancelled.
    """

    __slots__ = ("_coro",)

    def __init__(self, coro: Coroutine[Any, Any, T]) -> None:
        self._coro = coro

    def __await__(self) -> Generator[Any, None, T]:
        coro = self._coro
        interrupted = False
        try:
            while True:
                try:
                    waiting = coro.send(None)
                except StopIteration as done:
                    if interrupted:
                        raise asyncio.CancelledError from None
                    result: T = done.value
                    return result
                except BaseException:
                    if interrupted:
                        raise asyncio.CancelledError from None
                    raise
                if waiting is None:  # a bare yield: give the loop one turn
                    try:
                        yield None
                    except asyncio.CancelledError:
                        interrupted = True
                    continue
                waiting._asyncio_future_blocking = False  # what a task does with it
                while not waiting.done():
                    stand_in = asyncio.get_running_loop().create_future()
                    waiting.add_done_callback(partial(_settle, stand_in))
                    stand_in._asyncio_future_blocking = True
                    try:
                        yield stand_in
                    except asyncio.CancelledError:
                        interrupted = True
        except GeneratorExit:
            coro.close()
            raise


def _settle(stand_in: asyncio.Future[None], _: Any) -> None:
    if not stand_in.done():
        stand_in.set_result(None)
