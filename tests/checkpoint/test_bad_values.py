"""Every value or name a store cannot hold is refused with a locus error naming it, before
anything is written, on every backend; the thread stays as it was and stays readable."""

from __future__ import annotations

import json
from typing import Any

import pytest
from checkpoint_backends import Backend

from locus.checkpoint import Checkpointer, serializer
from locus.errors import CheckpointError, CheckpointUsageError, StateSerializationError


async def put(
    cp: Checkpointer,
    changes: dict[str, Any],
    *,
    thread_id: str = "t",
    run: dict[str, Any] | None = None,
    pending: list[dict[str, Any]] | None = None,
    graph: str = "g",
) -> int:
    return await cp.put(
        thread_id,
        "w1",
        changes=changes,
        status="paused" if pending else "running",
        run=run or {},
        pending=pending or [],
        graph=graph,
    )


async def thread_with_one_checkpoint(cp: Checkpointer) -> None:
    await cp.acquire("t", "w1", lease_seconds=30)
    await put(cp, {"n": 1}, pending=[{"id": "i1", "node": "review", "payload": "ok?"}])


async def assert_unchanged(cp: Checkpointer) -> None:
    got = await cp.get("t")
    assert got is not None
    assert (got.seq, got.values) == (1, {"n": 1})
    assert [p.interrupt_id for p in (await cp.list_pending()).items] == ["i1"]
    assert await put(cp, {"n": 2}) == 2  # the lease is still held and the thread writable


def nested(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


# --- values ----------------------------------------------------------------------------------


async def test_cyclic_state_value_is_refused_naming_its_key(cp: Checkpointer) -> None:
    await thread_with_one_checkpoint(cp)
    loop: dict[str, Any] = {"items": []}
    loop["items"].append(loop)
    with pytest.raises(StateSerializationError) as caught:
        await put(cp, {"n": 5, "doc": loop})
    message = str(caught.value)
    assert "state['doc']['items'][0]" in message
    assert "cycle" in message
    assert "'t'" in message
    await assert_unchanged(cp)


async def test_cyclic_interrupt_payload_is_refused_naming_the_interrupt(cp: Checkpointer) -> None:
    await thread_with_one_checkpoint(cp)
    payload: list[Any] = [1]
    payload.append(payload)
    with pytest.raises(StateSerializationError) as caught:
        await put(cp, {"n": 5}, pending=[{"id": "i9", "node": "approve", "payload": payload}])
    message = str(caught.value)
    assert "interrupt 'i9'" in message
    assert "node 'approve'" in message
    assert "cycle" in message
    await assert_unchanged(cp)


async def test_value_nested_too_deep_is_refused_on_write(cp: Checkpointer) -> None:
    await thread_with_one_checkpoint(cp)
    answer = nested(600)  # what a web client can send as a resume answer
    with pytest.raises(StateSerializationError, match=r"state\['answer'\].*nest"):
        await put(cp, {"answer": answer})
    with pytest.raises(StateSerializationError, match=r"run\['answers'\].*nest"):
        await put(cp, {}, run={"answers": {"approve": {"0": answer}}})
    with pytest.raises(StateSerializationError, match=r"interrupt 'i2'.*nest"):
        await put(cp, {}, pending=[{"id": "i2", "node": "n", "payload": (answer,)}])
    await assert_unchanged(cp)


def test_every_value_the_writer_accepts_can_be_read_back() -> None:
    # the deepest value accepted, in the shape that nests JSON the most, still loads
    deepest: Any = 1
    for _ in range(serializer.MAX_DEPTH):
        deepest = {1: deepest}
    data = serializer.encode(deepest, root="state['x']", thread_id="t")
    assert serializer.decode(data, what="state['x']", thread_id="t") == deepest
    with pytest.raises(StateSerializationError, match="nest"):
        serializer.encode({1: deepest}, root="state['x']", thread_id="t")


async def test_stored_document_nested_too_deep_is_a_checkpoint_error(
    backend: Backend, cp: Checkpointer
) -> None:
    await thread_with_one_checkpoint(cp)
    deep = b'{"v":1,"d":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    await backend.overwrite_value(cp, "t", "n", 1, deep)
    with pytest.raises(CheckpointError, match=r"state\['n'\].*'t'.*nested too deep"):
        await cp.get("t")
    await backend.overwrite_value(cp, "t", "n", 1, b'{"v":1,"d":1}')
    await backend.overwrite_record(cp, "t", 1, deep)
    with pytest.raises(CheckpointError, match=r"checkpoint 1.*'t'.*nested too deep"):
        await cp.get("t")
    await backend.overwrite_pending(cp, "t", "i1", deep)
    with pytest.raises(CheckpointError, match=r"interrupt 'i1'.*nested too deep"):
        await cp.list_pending()


async def test_int_too_long_to_store_is_refused_naming_its_key(cp: Checkpointer) -> None:
    await thread_with_one_checkpoint(cp)
    with pytest.raises(StateSerializationError, match=r"state\['big'\]\['n'\]\[1\].*digits"):
        await put(cp, {"big": {"n": [1, 10**5000]}})
    with pytest.raises(StateSerializationError, match=r"interrupt 'i3'.*digits"):
        await put(cp, {}, pending=[{"id": "i3", "node": "n", "payload": -(10**5000)}])
    await assert_unchanged(cp)


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["bad\ud800key", "bad\x00key"])
async def test_state_key_a_store_cannot_hold_is_refused_before_writing(
    cp: Checkpointer, key: str
) -> None:
    await thread_with_one_checkpoint(cp)
    with pytest.raises(StateSerializationError) as caught:
        await put(cp, {"n": 5, key: 1})
    assert repr(key) in str(caught.value)
    assert "'t'" in str(caught.value)
    await assert_unchanged(cp)
    # the same text is fine as a value, in state, in the run record and in a payload
    pending = [{"id": "i1", "node": "n", "payload": {"q": key}}]
    await put(cp, {"text": key}, run={"note": key}, pending=pending)
    got = await cp.get("t")
    assert got is not None
    assert (got.values["text"], got.run) == (key, {"note": key})
    assert (await cp.list_pending()).items[0].payload == {"q": key}


@pytest.mark.parametrize("thread_id", ["t\ud800", "t\x00"])
async def test_thread_id_a_store_cannot_hold_is_a_usage_error(
    cp: Checkpointer, thread_id: str
) -> None:
    calls = (
        lambda: cp.acquire(thread_id, "w1", lease_seconds=30),
        lambda: put(cp, {"n": 1}, thread_id=thread_id),
        lambda: cp.get(thread_id),
        lambda: cp.history(thread_id),
        lambda: cp.delete_thread(thread_id),
    )
    for call in calls:
        with pytest.raises(CheckpointUsageError, match=json.dumps(repr(thread_id))[1:-1]):
            await call()


@pytest.mark.parametrize("bad", ["x\ud800", "x\x00"])
async def test_graph_node_and_interrupt_names_a_store_cannot_hold_are_refused(
    cp: Checkpointer, bad: str
) -> None:
    await thread_with_one_checkpoint(cp)
    with pytest.raises(CheckpointUsageError, match="graph"):
        await put(cp, {"n": 5}, graph=bad)
    with pytest.raises(CheckpointUsageError, match="node"):
        await put(cp, {"n": 5}, pending=[{"id": "i5", "node": bad, "payload": 1}])
    with pytest.raises(CheckpointUsageError, match="id"):
        await put(cp, {"n": 5}, pending=[{"id": bad, "node": "n", "payload": 1}])
    await assert_unchanged(cp)
