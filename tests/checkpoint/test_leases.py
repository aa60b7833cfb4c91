"""Nothing stays locked, nothing runs twice: how an execution hands its thread's lease back.

Each test runs against memory, SQLite, PostgreSQL and Redis (the ``backend`` fixture). The
probe everywhere is another owner acquiring the thread: it must get the lease at once
(no ``ResumeConflictError``) after an execution was cancelled, failed or was refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from checkpoint_backends import Backend

from locus.checkpoint import Checkpointer, MemoryCheckpointer
from locus.core import Command, interrupt, once
from locus.errors import (
    CheckpointError,
    GraphMismatchError,
    LocusError,
    NodeExecutionError,
    StateSerializationError,
)
from locus.multiagent import END, START, StateGraph, leases


def approval_graph(cp: Checkpointer, effects: list[str], name: str = "refunds") -> StateGraph:
    """prepare -> approve (interrupts, then refunds once) -> act."""
    graph = StateGraph(name, checkpointer=cp)

    async def prepare(state: dict[str, Any]) -> dict[str, Any]:
        effects.append("prepare")
        return {"amount": 120}

    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        answer = interrupt({"question": f"refund {state['amount']}?"})
        if answer == "fail":
            raise RuntimeError("the payment provider is down")
        await once("refund", effects.append, "refund")
        return {"approved": answer == "yes"}

    async def act(state: dict[str, Any]) -> dict[str, Any]:
        effects.append("act")
        return {"result": "refunded" if state["approved"] else "declined"}

    graph.add_node("prepare", prepare).add_node("approve", approve).add_node("act", act)
    graph.add_edge(START, "prepare").add_edge("prepare", "approve")
    graph.add_edge("approve", "act").add_edge("act", END)
    return graph


async def assert_lease_free(cp: Checkpointer, thread_id: str) -> None:
    """Another owner takes the thread at once (this raises ResumeConflictError if not)."""
    await cp.acquire(thread_id, "probe", lease_seconds=30)
    await cp.release(thread_id, "probe")


def cancel_on_storage_call(
    cp: Checkpointer, target: list[asyncio.Task[Any]], k: int, *, after: bool
) -> None:
    """Cancel ``target[0]`` as the k-th lease or write call of ``cp`` starts (or ends)."""
    calls = itertools.count()
    for name in ("_acquire", "_put", "_renew", "_release"):
        original: Callable[..., Awaitable[Any]] = getattr(cp, name)

        async def hooked(*args: Any, _original: Callable[..., Awaitable[Any]] = original) -> Any:
            hit = next(calls) == k
            if hit and not after:
                target[0].cancel()
            result = await _original(*args)
            if hit and after:
                target[0].cancel()
            return result

        setattr(cp, name, hooked)


async def finish(graph: StateGraph, thread_id: str) -> dict[str, Any] | None:
    """Drive the thread to its end from wherever a cancelled execution left it."""
    state = await graph.get_state(thread_id) if await _exists(graph, thread_id) else None
    if state is None:
        return None
    if state.status == "running":
        result = await graph.execute(None, thread_id=thread_id)
        if not result.is_interrupted:
            return result.final_state
        state = await graph.get_state(thread_id)
    if state.status == "paused":
        return (await graph.execute(Command(resume="yes"), thread_id=thread_id)).final_state
    return state.values


async def _exists(graph: StateGraph, thread_id: str) -> bool:
    return await graph.config.checkpointer.get(thread_id) is not None


@pytest.mark.parametrize("phase", ["start", "resume"])
async def test_a_cancelled_execution_hands_the_lease_back_at_every_storage_call(
    backend: Backend, phase: str
) -> None:
    for k, after in itertools.product(range(5), (False, True)):
        thread_id = f"cancel-{phase}-{k}-{after}"
        effects: list[str] = []
        cp = backend.make()
        graph = approval_graph(cp, effects)
        if phase == "resume":
            await graph.execute({}, thread_id=thread_id)
        target: list[asyncio.Task[Any]] = []
        cancel_on_storage_call(cp, target, k, after=after)
        inputs: Any = {} if phase == "start" else Command(resume="yes")
        target.append(asyncio.ensure_future(graph.execute(inputs, thread_id=thread_id)))
        with contextlib.suppress(asyncio.CancelledError):
            await target[0]
        probe = backend.make()
        await assert_lease_free(probe, thread_id)
        final = await finish(approval_graph(probe, effects), thread_id)
        assert final is None or final["result"] == "refunded", (k, after, final)
        assert effects.count("refund") <= 1, (k, after, effects)


async def test_a_cancelled_execution_hands_the_lease_back_after_any_loop_iteration(
    backend: Backend,
) -> None:
    cp = backend.make()
    effects: list[str] = []
    for n in (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987):
        thread_id = f"spin-{n}"
        await approval_graph(cp, effects).execute({}, thread_id=thread_id)
        task = asyncio.ensure_future(
            approval_graph(cp, effects).execute(Command(resume="yes"), thread_id=thread_id)
        )
        for _ in range(n):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await assert_lease_free(cp, thread_id)


async def test_a_cancelled_release_still_hands_the_lease_back(backend: Backend) -> None:
    # The execution fails, and is cancelled again while it hands the lease back.
    cp = backend.make()
    graph = approval_graph(cp, [])
    await graph.execute({}, thread_id="twice")
    original = cp._release
    target: list[asyncio.Task[Any]] = []

    async def cancelled_release(*args: Any) -> bool:
        target[0].cancel()
        return await original(*args)

    cp._release = cancelled_release  # type: ignore[method-assign]
    target.append(asyncio.ensure_future(graph.execute(Command(resume="fail"), thread_id="twice")))
    with pytest.raises((asyncio.CancelledError, NodeExecutionError)):
        await target[0]
    await assert_lease_free(backend.make(), "twice")


@pytest.mark.parametrize("damage", ["record", "value"])
async def test_a_resume_that_cannot_load_the_thread_releases_its_lease(
    backend: Backend, damage: str
) -> None:
    cp = backend.make()
    graph = approval_graph(cp, [])
    paused = await graph.execute({"ticket": "T-1"}, thread_id="damaged")
    assert paused.is_interrupted
    latest = await cp.get("damaged")
    assert latest is not None
    if damage == "record":
        await backend.overwrite_record(cp, "damaged", latest.seq, b"\x00not json")
    else:
        await backend.overwrite_value(cp, "damaged", "ticket", 1, b"{broken")
    for _attempt in range(2):  # the second attempt meets the damage, not a held lease
        with pytest.raises(CheckpointError, match="damaged"):
            await graph.execute(Command(resume="yes"), thread_id="damaged")


async def test_a_resume_whose_node_fails_releases_its_lease(backend: Backend) -> None:
    cp = backend.make()
    effects: list[str] = []
    graph = approval_graph(cp, effects)
    await graph.execute({}, thread_id="node-fails")
    with pytest.raises(NodeExecutionError, match="'approve'"):
        await graph.execute(Command(resume="fail"), thread_id="node-fails")
    await assert_lease_free(cp, "node-fails")
    done = await graph.execute(Command(resume="yes"), thread_id="node-fails")
    assert done.final_state["result"] == "refunded"


def deeply_nested(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"next": value}
    return value


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(Command(resume="yes", update={"note": object()}), id="update"),
        pytest.param(Command(resume=deeply_nested(600)), id="deep-answer"),
        pytest.param(Command(resume="yes", update={"no\x00te": 1}), id="nul-key"),
    ],
)
async def test_an_unstorable_resume_is_refused_before_the_node_runs_its_action(
    backend: Backend, bad: Command
) -> None:
    cp = backend.make()
    effects: list[str] = []
    graph = approval_graph(cp, effects)
    await graph.execute({}, thread_id="unstorable")
    with pytest.raises(LocusError) as refused:
        await graph.execute(bad, thread_id="unstorable")
    assert isinstance(refused.value, StateSerializationError)
    message = str(refused.value)
    assert "unstorable" in message and ("Command." in message or "'no\\x00te'" in message)
    assert effects.count("refund") == 0
    await assert_lease_free(cp, "unstorable")
    state = await graph.get_state("unstorable")
    assert state.status == "paused"
    done = await graph.execute(Command(resume="yes"), thread_id="unstorable")
    assert done.final_state["result"] == "refunded"
    assert effects.count("refund") == 1


@pytest.mark.parametrize("how", ["resume", "continue", "new-run"])
async def test_another_graphs_thread_is_refused_and_nothing_runs(
    backend: Backend, how: str
) -> None:
    cp = backend.make()
    refunds: list[str] = []
    graph = approval_graph(cp, refunds, name="refunds")
    await graph.execute({}, thread_id="refund-7")
    if how == "new-run":
        await graph.execute(Command(resume="yes"), thread_id="refund-7")
    before = await graph.get_state("refund-7")
    deploys: list[str] = []
    other = approval_graph(backend.make(), deploys, name="deploys")
    inputs: Any = {
        "resume": Command(resume="yes"),
        "continue": None,
        "new-run": {"ticket": "again"},
    }[how]
    with pytest.raises(GraphMismatchError) as refused:
        await other.execute(inputs, thread_id="refund-7")
    message = str(refused.value)
    assert "'refunds'" in message and "'deploys'" in message and "'refund-7'" in message
    assert deploys == []
    await assert_lease_free(cp, "refund-7")
    after = await graph.get_state("refund-7")
    assert (after.checkpoint, after.values) == (before.checkpoint, before.values)


async def test_an_action_taken_in_a_step_that_cannot_be_stored_is_not_taken_again(
    backend: Backend,
) -> None:
    # The node refunds, then returns a value that cannot be stored (once): the step fails,
    # but the refund's record is kept, and the next resume replays it.
    cp = backend.make()
    effects: list[str] = []
    first = {"attempt": True}
    graph = StateGraph("refunds", checkpointer=cp)

    async def approve(state: dict[str, Any]) -> dict[str, Any]:
        answer = interrupt("refund?")
        receipt = await once("refund", lambda: effects.append("refund") or "R-1")
        if first.pop("attempt", False):
            return {"receipt": object()}
        return {"receipt": receipt, "approved": answer}

    graph.add_node("approve", approve).add_edge(START, "approve").add_edge("approve", END)
    await graph.execute({}, thread_id="kept")
    with pytest.raises(StateSerializationError, match="receipt"):
        await graph.execute(Command(resume="yes"), thread_id="kept")
    assert effects == ["refund"]
    state = await graph.get_state("kept")
    assert state.status == "paused"
    done = await graph.execute(Command(resume="yes"), thread_id="kept")
    assert done.final_state == {"receipt": "R-1", "approved": "yes"}
    assert effects == ["refund"]


async def test_an_action_before_a_pause_that_cannot_be_stored_is_not_taken_again(
    backend: Backend,
) -> None:
    cp = backend.make()
    effects: list[str] = []
    first = {"attempt": True}
    graph = StateGraph("notify", checkpointer=cp)

    async def notify(state: dict[str, Any]) -> dict[str, Any]:
        await once("mail", effects.append, "mail")
        details: Any = object() if first.pop("attempt", False) else "details"
        return {"ok": interrupt({"sent": details})}

    graph.add_node("prepare", lambda s: {"n": 1}).add_node("notify", notify)
    graph.add_edge(START, "prepare").add_edge("prepare", "notify").add_edge("notify", END)
    with pytest.raises(StateSerializationError, match="sent"):
        await graph.execute({}, thread_id="mail")
    assert effects == ["mail"]
    paused = await graph.execute(None, thread_id="mail")
    assert paused.is_interrupted
    done = await graph.execute(Command(resume=True), thread_id="mail")
    assert done.final_state == {"n": 1, "ok": True}
    assert effects == ["mail"]


async def test_a_call_awaited_with_finish_completes_although_its_caller_is_cancelled() -> None:
    release = asyncio.Event()
    finished: list[str] = []

    async def lease_call() -> str:
        await asyncio.sleep(0)
        await release.wait()
        finished.append("done")
        return "held"

    caller = asyncio.ensure_future(leases.finish(lease_call()))
    for _ in range(3):
        await asyncio.sleep(0)
    caller.cancel()
    await asyncio.sleep(0)
    caller.cancel()  # a second cancellation does not reach the call either
    await asyncio.sleep(0)
    assert not caller.done() and finished == []
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert finished == ["done"]


async def test_finish_passes_a_result_or_an_error_through() -> None:
    async def fails() -> None:
        await asyncio.sleep(0)
        raise CheckpointError("store down")

    async def answers() -> int:
        return 7

    assert await leases.finish(answers()) == 7
    with pytest.raises(CheckpointError, match="store down"):
        await leases.finish(fails())


class SlowStore(MemoryCheckpointer):
    """A store whose acquire, once sent, takes effect even if the caller stops waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = asyncio.Event()
        self.arrive = asyncio.Event()

    async def _acquire(self, *args: Any) -> Any:
        async def at_the_server() -> Any:
            self.sent.set()
            await self.arrive.wait()
            return await MemoryCheckpointer._acquire(self, *args)

        return await asyncio.shield(at_the_server())


async def test_a_lease_taken_after_its_execution_was_cancelled_is_handed_back() -> None:
    store = SlowStore()
    graph = approval_graph(store, [])
    task = asyncio.ensure_future(graph.execute({}, thread_id="late"))
    await store.sent.wait()
    task.cancel()
    await asyncio.sleep(0)
    store.arrive.set()  # the store takes the lease after the caller was cancelled
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_lease_free(store, "late")


async def test_a_step_write_under_way_when_cancelled_still_records_its_actions(
    backend: Backend,
) -> None:
    """The resumed step refunded; cancelled while its checkpoint is being written (the
    write yields, as a network call does), the write still lands, so the refund is
    recorded and the next execution does not refund again."""
    cp = backend.make()
    effects: list[str] = []
    graph = approval_graph(cp, effects)
    await graph.execute({}, thread_id="cancel-mid-put")
    task: list[asyncio.Task[Any]] = []
    original: Callable[..., Awaitable[Any]] = cp._put  # type: ignore[attr-defined]

    async def put_that_yields(*args: Any, **kwargs: Any) -> Any:
        if "refund" in effects and not task[0].cancelled():
            task[0].cancel()
            await asyncio.sleep(0)  # the cancellation is delivered here, mid-write
        return await original(*args, **kwargs)

    cp._put = put_that_yields  # type: ignore[attr-defined]
    task.append(
        asyncio.ensure_future(graph.execute(Command(resume="yes"), thread_id="cancel-mid-put"))
    )
    with contextlib.suppress(asyncio.CancelledError):
        await task[0]
    cp._put = original  # type: ignore[attr-defined]
    probe = backend.make()
    await assert_lease_free(probe, "cancel-mid-put")
    final = await finish(approval_graph(probe, effects), "cancel-mid-put")
    assert final is not None and final["result"] == "refunded"
    assert effects.count("refund") == 1, effects
