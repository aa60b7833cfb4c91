"""Stored data never chooses code: classes are restored only from a registry filled first.

Each test writes documents by hand, the way another process (or an attacker with write
access to the store) would, so nothing here depends on what this process encoded before.
"""

from __future__ import annotations

import enum
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from checkpoint_backends import Backend
from pydantic import BaseModel

from locus.checkpoint import Checkpointer, register_type, serializer
from locus.core import interrupt
from locus.core.messages import Message
from locus.errors import CheckpointError, CheckpointUsageError, UnknownStoredTypeError
from locus.multiagent import END, START, StateGraph


class Stage(enum.Enum):
    DRAFT = "draft"
    SENT = "sent"


class Invoice(BaseModel):
    number: int
    stage: Stage


class Refund(BaseModel):
    amount: int


@register_type
class Receipt(BaseModel):
    total: int


@register_type(name="billing:Voucher")
class Voucher(BaseModel):
    code: str


def named(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def doc(tree: Any) -> bytes:
    return json.dumps({"v": 1, "d": tree}).encode()


def invoice_doc() -> bytes:
    stage = {"$t": "enum", "cls": named(Stage), "v": "sent"}
    return doc({"$t": "model", "cls": named(Invoice), "v": {"number": 7, "stage": stage}})


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """A module on sys.path whose top-level code leaves a marker file when imported."""
    name = f"planted_{uuid.uuid4().hex[:10]}"
    marker = tmp_path / "imported.marker"
    (tmp_path / f"{name}.py").write_text(
        "from pathlib import Path\n"
        f"Path({str(marker)!r}).write_text('top-level code ran')\n"
        "from pydantic import BaseModel\n"
        "import enum\n"
        "class Payload(BaseModel):\n"
        "    x: int = 0\n"
        "class Kind(enum.Enum):\n"
        "    A = 'a'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, marker
    sys.modules.pop(name, None)


async def paused_thread(cp: Checkpointer, thread_id: str = "t") -> None:
    await cp.acquire(thread_id, "w1", lease_seconds=30)
    await cp.put(
        thread_id,
        "w1",
        changes={"a": 1},
        status="paused",
        run={"step": 1},
        pending=[{"id": "i1", "node": "review", "payload": {"ask": 1}}],
        graph="g",
        release=True,
    )


# --- no import, ever -----------------------------------------------------------------------


async def test_tampered_checkpoint_naming_a_module_never_imports_it(
    backend: Backend, cp: Checkpointer, planted: tuple[str, Path]
) -> None:
    module, marker = planted
    await paused_thread(cp)
    model = doc({"$t": "model", "cls": f"{module}:Payload", "v": {"x": 1}})
    member = doc({"run": {"k": {"$t": "enum", "cls": f"{module}:Kind", "v": "a"}}, "pending": []})
    await backend.overwrite_value(cp, "t", "a", 1, model)
    for read in (cp.get("t"), cp.history("t"), cp.acquire("t", "w2", lease_seconds=30)):
        with pytest.raises(UnknownStoredTypeError) as caught:
            await read
        message = str(caught.value)
        assert f"{module}:Payload" in message
        assert "state['a']" in message
        assert "'t'" in message
        assert "register_type" in message
    await backend.overwrite_record(cp, "t", 1, member)
    await backend.overwrite_value(cp, "t", "a", 1, doc(1))
    with pytest.raises(UnknownStoredTypeError, match=f"{module}:Kind"):
        await cp.get("t")
    await backend.overwrite_pending(cp, "t", "i1", model)
    with pytest.raises(UnknownStoredTypeError, match=rf"interrupt 'i1'.*{module}:Payload"):
        await cp.list_pending()
    assert module not in sys.modules
    assert not marker.exists()


def test_unknown_class_name_is_refused_without_importing_anything(
    planted: tuple[str, Path],
) -> None:
    module, marker = planted
    for tree in (
        {"$t": "model", "cls": f"{module}:Payload", "v": {}},
        {"$t": "enum", "cls": f"{module}:Kind", "v": "a"},
        {"$t": "model", "cls": f"{module}", "v": {}},
    ):
        with pytest.raises(UnknownStoredTypeError) as caught:
            serializer.decode(doc(tree), what="state['x']", thread_id="th")
        assert isinstance(caught.value, CheckpointError)
    assert module not in sys.modules
    assert not marker.exists()


# --- registering -----------------------------------------------------------------------------


async def test_a_class_stored_elsewhere_loads_once_registered_with_the_checkpointer(
    backend: Backend, cp: Checkpointer
) -> None:
    await paused_thread(cp)
    await backend.overwrite_value(cp, "t", "a", 1, invoice_doc())
    with pytest.raises(UnknownStoredTypeError, match=r":(Stage|Invoice)'.*types="):
        await cp.get("t")
    # registering the model registers the enum its fields declare
    reader = backend.make(types=[Invoice])
    got = await reader.get("t")
    assert got is not None
    assert got.values["a"] == Invoice(number=7, stage=Stage.SENT)
    assert type(got.values["a"].stage) is Stage
    with pytest.raises(UnknownStoredTypeError):
        await cp.get("t")  # the other checkpointer's registry is its own


async def test_a_thread_that_cannot_be_loaded_is_not_left_locked(
    backend: Backend, cp: Checkpointer
) -> None:
    await paused_thread(cp)
    await backend.overwrite_value(cp, "t", "a", 1, invoice_doc())
    with pytest.raises(UnknownStoredTypeError):
        await cp.acquire("t", "w2", lease_seconds=30)
    got = await backend.make(types=[Invoice]).acquire("t", "w3", lease_seconds=30)
    assert got is not None
    assert got.values["a"].number == 7


async def test_graph_types_reach_its_checkpointer(backend: Backend, cp: Checkpointer) -> None:
    def ask(state: dict[str, Any]) -> dict[str, Any]:
        return {"answer": interrupt("refund?")}

    graph = StateGraph("g", checkpointer=cp, types=[Refund]).add_node("ask", ask)
    graph.add_edge(START, "ask").add_edge("ask", END)
    await graph.execute({"a": 1}, thread_id="t")
    refund = doc({"$t": "model", "cls": named(Refund), "v": {"amount": 5}})
    await backend.overwrite_value(cp, "t", "a", 1, refund)
    state = await graph.get_state("t")
    assert state.values["a"] == Refund(amount=5)
    with pytest.raises(UnknownStoredTypeError):
        await backend.make().get("t")


async def test_decorated_and_locus_classes_load_anywhere(
    backend: Backend, cp: Checkpointer
) -> None:
    await paused_thread(cp)
    receipt = {"$t": "model", "cls": named(Receipt), "v": {"total": 3}}
    voucher = {"$t": "model", "cls": "billing:Voucher", "v": {"code": "X1"}}
    message = {"$t": "model", "cls": named(Message), "v": {"role": "user", "content": "hi"}}
    await backend.overwrite_value(cp, "t", "a", 1, doc([receipt, voucher, message]))
    got = await cp.get("t")
    assert got is not None
    assert got.values["a"] == [
        Receipt(total=3),
        Voucher(code="X1"),
        Message(role="user", content="hi"),
    ]
    # a class registered under a name of its own is written under that name
    written = serializer.encode(Voucher(code="Y"), root="state['v']", thread_id="t")
    assert json.loads(written)["d"]["cls"] == "billing:Voucher"


def test_one_name_cannot_be_registered_for_two_classes() -> None:
    class First(BaseModel):
        a: int = 0

    class Second(BaseModel):
        a: int = 0

    name = f"test-only:{uuid.uuid4().hex}"
    register_type(First, name=name)
    register_type(First, name=name)  # again: no change
    with pytest.raises(CheckpointUsageError, match=name):
        register_type(Second, name=name)
    with pytest.raises(CheckpointUsageError, match="Enum or a pydantic"):
        register_type(dict)
