"""The stored format: versioned, tagged JSON that restores every supported type exactly."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pytest
from checkpoint_samples import Priority, Ticket, every_supported_value
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from locus.checkpoint import TypeRegistry, serializer
from locus.errors import CheckpointError, SchemaVersionError, StateSerializationError

FIXTURE = Path(__file__).parent / "fixtures" / "schema_v1.json"


def round_trip(value: Any) -> Any:
    data = serializer.encode(value, root="state['x']", thread_id="t")
    return serializer.decode(data, what="state['x']", thread_id="t")


def stored(doc: Any) -> bytes:
    return json.dumps(doc).encode()


# --- the frozen v1 fixture -----------------------------------------------------------------


def test_frozen_v1_documents_still_load() -> None:
    fixture = json.loads(FIXTURE.read_text())
    expected = every_supported_value()
    types = TypeRegistry([Ticket])  # alone, as in a fresh reader; Ticket names Priority
    for key, doc in fixture["values"].items():
        loaded = serializer.decode(stored(doc), what=key, thread_id="t", types=types)
        assert loaded == expected[key], key
        assert type(loaded) is type(expected[key]), key
    record = serializer.decode(stored(fixture["record"]), what="record", thread_id="t")
    assert record["run"] == {
        "step": 3,
        "journal": [{"node": "review", "calls": (1, 2)}],
        "started": dt.date(2026, 1, 2),
    }
    assert record["pending"] == [
        {"id": "i1", "node": "review", "payload": {"question": "approve?", "ticket_id": 7}}
    ]


def test_format_has_not_drifted_from_v1() -> None:
    """Writing the fixture's values again gives the fixture: a change needs a new version."""
    fixture = json.loads(FIXTURE.read_text())
    for key, value in every_supported_value().items():
        written = json.loads(serializer.encode(value, root=key, thread_id="t"))
        assert written == fixture["values"][key], key


# --- exact round trips ---------------------------------------------------------------------

_text = st.text(max_size=8)
_json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text
_hashable = st.integers() | _text | st.tuples(st.integers(), _text)
_values = st.recursive(
    _json_leaf | st.binary(max_size=8) | st.uuids() | st.datetimes(timezones=st.timezones()),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.frozensets(_hashable, max_size=4)
        | st.dictionaries(st.text(max_size=5) | st.just("$t"), inner, max_size=4)
        | st.dictionaries(_hashable, inner, max_size=3)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_any_supported_value_round_trips_exactly(value: Any) -> None:
    assert _typed(round_trip(value)) == _typed(value)


def _typed(value: Any) -> Any:
    """Equality that also tells 1 from 1.0 from True, and a tuple from a list."""
    if isinstance(value, dict):
        return ("dict", frozenset((_typed(k), _typed(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_typed(v) for v in value))
    if isinstance(value, frozenset | set):
        return (type(value).__name__, frozenset(_typed(v) for v in value))
    return (type(value).__name__, value)


def test_dict_that_looks_like_a_tag_stays_a_dict() -> None:
    lookalike = {"$t": "bytes", "v": "AP8="}
    assert round_trip(lookalike) == lookalike
    assert round_trip([lookalike, {"$t": "model", "cls": "os:system", "v": "x"}])[1]["cls"] == (
        "os:system"
    )


def test_non_finite_floats_round_trip() -> None:
    restored = round_trip([float("nan"), float("inf"), -0.0])
    assert math.isnan(restored[0])
    assert restored[1] == float("inf")
    assert math.copysign(1, restored[2]) == -1


def test_models_and_enums_come_back_as_their_classes() -> None:
    ticket = every_supported_value()["ticket"]
    restored = round_trip({"t": ticket, "p": Priority.HIGH})
    assert type(restored["t"]) is Ticket
    assert restored["t"] == ticket
    assert restored["p"] is Priority.HIGH


def test_lone_surrogates_are_stored_as_ascii_escapes() -> None:
    data = serializer.encode("a\udc80b", root="x", thread_id="t")
    data.decode("utf-8")  # storable in any UTF-8 column
    assert round_trip("a\udc80b") == "a\udc80b"


def test_equal_sets_are_stored_as_equal_bytes() -> None:
    first = serializer.encode({"b", "a", "c"}, root="x", thread_id="t")
    second = serializer.encode({"c", "b", "a"}, root="x", thread_id="t")
    assert first == second


# --- what cannot be stored -----------------------------------------------------------------


def test_unsupported_value_names_its_full_path_and_type() -> None:
    ticket = Ticket(
        id=1,
        title="x",
        opened=dt.datetime(2026, 1, 1),
        priority=Priority.LOW,
        extra={"k": [1, {2}, print]},
    )
    with pytest.raises(StateSerializationError) as caught:
        serializer.encode({"list": [(0, ticket)]}, root="state['doc']", thread_id="th")
    message = str(caught.value)
    assert "state['doc']['list'][0][1].extra['k'][2]" in message
    assert "builtin_function_or_method" in message
    assert "'th'" in message


def test_a_class_defined_in_a_function_is_stored_only_once_registered_by_name() -> None:
    class Local(BaseModel):
        a: int = 1

    with pytest.raises(StateSerializationError, match=r"state\['x'\].*inside a function"):
        serializer.encode(Local(), root="state['x']", thread_id="t")
    types = TypeRegistry([])
    types.register(Local, name="tests:Local")
    data = serializer.encode(Local(), root="state['x']", thread_id="t", types=types)
    assert serializer.decode(data, what="x", thread_id="t", types=types) == Local()


def test_subclasses_of_builtin_types_are_not_silently_downcast() -> None:
    class Label(str):
        pass

    with pytest.raises(StateSerializationError, match="Label"):
        serializer.encode([Label("x")], root="state['x']", thread_id="t")


# --- what cannot be loaded -----------------------------------------------------------------


def test_unknown_schema_version_names_version_and_thread() -> None:
    with pytest.raises(
        SchemaVersionError, match=r"state\['a'\] of thread 'th' has schema version 7"
    ):
        serializer.decode(b'{"v":7,"d":{"$t":"future"}}', what="state['a']", thread_id="th")


def test_damaged_document_is_a_checkpoint_error_not_a_version_error() -> None:
    with pytest.raises(CheckpointError) as caught:
        serializer.decode(b'{"v":1,"d":', what="state['a']", thread_id="th")
    assert not isinstance(caught.value, SchemaVersionError)
    assert "'th'" in str(caught.value)


def test_a_class_gone_since_the_pause_is_reported_by_name() -> None:
    doc = {"v": 1, "d": {"$t": "model", "cls": "nowhere.gone:Ticket", "v": {}}}
    with pytest.raises(CheckpointError, match=r"nowhere\.gone:Ticket"):
        serializer.decode(stored(doc), what="state['a']", thread_id="th")


def test_only_enum_and_model_classes_are_ever_instantiated() -> None:
    doc = {"v": 1, "d": {"$t": "model", "cls": "subprocess:Popen", "v": {"args": "true"}}}
    with pytest.raises(CheckpointError, match="subprocess:Popen"):
        serializer.decode(stored(doc), what="state['a']", thread_id="th")
    enum_as_model = {"$t": "model", "cls": serializer_name(Priority), "v": {}}
    types = TypeRegistry([Priority])
    with pytest.raises(CheckpointError, match="not a BaseModel"):
        serializer.decode(
            stored({"v": 1, "d": enum_as_model}), what="x", thread_id="t", types=types
        )


def serializer_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"
