"""Versioned JSON for checkpoint data: the only way a value reaches storage. No pickle.

Every stored document is UTF-8 JSON of the form ``{"v": 1, "d": <tree>}``; reading any other
``v`` raises ``SchemaVersionError``. JSON types are stored as themselves. Other supported
values become tagged objects ``{"$t": <tag>, ...}`` and are restored to their type:

========================  ===========================================================
``tuple``                 ``{"$t": "tuple", "v": [...]}``
``set`` / ``frozenset``   ``{"$t": "set" | "frozenset", "v": [...]}``
``bytes``/``bytearray``   ``{"$t": "bytes" | "bytearray", "v": "<base64>"}``
``datetime``, ``date``,   ``{"$t": "datetime" | "date" | "time", "v": "<ISO 8601>"}``
``time``                  (a ``datetime`` adds ``"tz": "<IANA key>"`` for a ``ZoneInfo``
                          zone and ``"fold": 1`` when set; other tzinfo classes are
                          restored as fixed offsets)
``timedelta``             ``{"$t": "timedelta", "v": [days, seconds, microseconds]}``
``UUID``, ``Decimal``     ``{"$t": "uuid" | "decimal", "v": "<str>"}``
non-finite ``float``      ``{"$t": "float", "v": "nan" | "inf" | "-inf"}``
``Enum`` member           ``{"$t": "enum", "cls": "module:Qualname", "v": <value>}``
pydantic model            ``{"$t": "model", "cls": "module:Qualname", "v": <fields>}``
other ``dict``            ``{"$t": "dict", "v": [[key, value], ...]}``
========================  ===========================================================

The last row keeps round trips exact for a dict whose keys are not all strings, or that
has a ``"$t"`` key of its own and so looks like a tag. Classes are found again by import
path, so enums and models must be importable (module level); a class defined inside a
function is refused when stored rather than when loaded. Subclasses of ``str``, ``int`` and
``float`` that are not enums (``numpy.float64``, ...) are refused: storing them as the base
type would change their type silently. The same goes for subclasses of ``dict`` and
``list`` (``OrderedDict``, ``defaultdict``, ...) and for dataclasses: convert them first.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import importlib
import json
import math
import sys
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from locus.errors import CheckpointError, SchemaVersionError, StateSerializationError

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "SCHEMA_VERSION",
    "decode",
    "decode_document",
    "describe_path",
    "dump_document",
    "encode",
    "to_tree",
]

SCHEMA_VERSION = 1
"""The version written into every stored document."""

_TAG = "$t"
#: exact types stored as they are (float is not: NaN and infinities need a tag)
_PLAIN = frozenset({str, int, bool, type(None)})
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_dumps_ascii = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode


class _Unsupported(Exception):
    """Internal: a value that cannot be stored; each level of the walk adds its path step."""

    def __init__(self, value: Any, reason: str = "") -> None:
        super().__init__(reason)
        self.value = value
        self.reason = reason
        self.steps: list[str] = []


def _class_path(cls: type) -> str:
    """Return ``module:Qualname`` for ``cls``, or raise ``_Unsupported`` if not importable."""
    path = _CLASS_PATHS.get(cls)
    if path is None:
        path = f"{cls.__module__}:{cls.__qualname__}"
        if "<locals>" in cls.__qualname__ or _import_class(path) is not cls:
            raise _Unsupported(cls, f"class {path} cannot be imported by that path")
        _CLASS_PATHS[cls] = path
    return path


_CLASS_PATHS: dict[type, str] = {}
_CLASSES: dict[str, type] = {}


def _import_class(path: str) -> type | None:
    cls = _CLASSES.get(path)
    if cls is not None:
        return cls
    module_name, _, qualname = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError):
        return None
    if not isinstance(obj, type):
        return None
    _CLASSES[path] = obj
    return obj


def _walk(value: Any) -> Any:
    """Turn ``value`` into a JSON-able tree with tags (see the module docstring).

    Raises:
        _Unsupported: internal; ``encode`` turns it into ``StateSerializationError``.
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is float:
        return value if math.isfinite(value) else {_TAG: "float", "v": repr(value)}
    if kind is dict:
        return _encode_dict(value)
    if kind is list:
        return _encode_list(value)
    encoder = _ENCODERS.get(kind)
    if encoder is not None:
        return encoder(value)
    if isinstance(value, Enum):
        return {_TAG: "enum", "cls": _class_path(kind), "v": _walk(value.value)}
    # pydantic is imported lazily (it costs tens of ms at start-up); a value can only be
    # a pydantic model if pydantic has been imported already
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(value, pydantic.BaseModel):
        return _encode_model(value)
    raise _Unsupported(value)


def _encode_list(value: list[Any]) -> list[Any]:
    out = []
    for i, item in enumerate(value):
        if type(item) in _PLAIN:  # the common case, without a call
            out.append(item)
            continue
        try:
            out.append(_walk(item))
        except _Unsupported as exc:
            exc.steps.append(f"[{i}]")
            raise
    return out


def _encode_dict(value: dict[Any, Any]) -> Any:
    if _TAG in value:
        return _encode_pairs(value)
    out = {}
    for key, item in value.items():
        if type(key) is not str:
            return _encode_pairs(value)
        if type(item) in _PLAIN:  # the common case, without a call
            out[key] = item
            continue
        try:
            out[key] = _walk(item)
        except _Unsupported as exc:
            exc.steps.append(f"[{key!r}]")
            raise
    return out


def _encode_pairs(value: dict[Any, Any]) -> Any:
    """A dict whose keys are not all str, or that has the tag key: stored as pairs."""
    pairs = []
    for key, item in value.items():
        try:
            pairs.append([_walk(key), _walk(item)])
        except _Unsupported as exc:
            exc.steps.append(f"[{key!r}]")
            raise
    return {_TAG: "dict", "v": pairs}


def _encode_items(tag: str) -> Callable[[Any], Any]:
    def encode_items(value: Any) -> Any:
        if tag != "tuple":
            with contextlib.suppress(TypeError):  # equal sets then store as equal bytes
                value = sorted(value)
        out = []
        for i, item in enumerate(value):
            try:
                out.append(_walk(item))
            except _Unsupported as exc:
                exc.steps.append(f"[{i}]" if tag == "tuple" else f"{{item {item!r}}}")
                raise
        return {_TAG: tag, "v": out}

    return encode_items


def _encode_model(model: BaseModel) -> Any:
    path = _class_path(type(model))
    try:
        fields = model.model_dump(round_trip=True)
    except Exception as exc:
        raise _Unsupported(model, f"model_dump failed: {exc}") from exc
    out = {}
    for name, item in fields.items():
        try:
            out[name] = _walk(item)
        except _Unsupported as exc:
            exc.steps.append(f".{name}")
            raise
    return {_TAG: "model", "cls": path, "v": out}


def _b64(tag: str) -> Callable[[Any], Any]:
    return lambda value: {_TAG: tag, "v": base64.b64encode(value).decode("ascii")}


def _encode_datetime(value: dt.datetime) -> Any:
    out: dict[str, Any] = {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value.tzinfo, ZoneInfo) and value.tzinfo.key:
        out["tz"] = value.tzinfo.key
    if value.fold:
        out["fold"] = 1
    return out


def _decode_datetime(obj: dict[str, Any]) -> dt.datetime:
    value = dt.datetime.fromisoformat(obj["v"])
    if "tz" in obj:
        value = value.replace(tzinfo=ZoneInfo(obj["tz"]))
    return value.replace(fold=obj.get("fold", 0))


def _iso(tag: str) -> Callable[[Any], Any]:
    return lambda value: {_TAG: tag, "v": value.isoformat()}


_ENCODERS: dict[type, Callable[[Any], Any]] = {
    tuple: _encode_items("tuple"),
    set: _encode_items("set"),
    frozenset: _encode_items("frozenset"),
    bytes: _b64("bytes"),
    bytearray: _b64("bytearray"),
    dt.datetime: lambda v: _encode_datetime(v),
    dt.date: _iso("date"),
    dt.time: _iso("time"),
    dt.timedelta: lambda v: {_TAG: "timedelta", "v": [v.days, v.seconds, v.microseconds]},
    UUID: lambda v: {_TAG: "uuid", "v": str(v)},
    Decimal: lambda v: {_TAG: "decimal", "v": str(v)},
}


def describe_path(root: str, steps: list[str]) -> str:
    """Render a key path such as ``state['ticket']['attachments'][2]``."""
    return root + "".join(reversed(steps))


def encode(value: Any, *, root: str, thread_id: str) -> bytes:
    """Serialize one value into a versioned UTF-8 JSON document.

    Args:
        value: the value to store.
        root: how the value is named in errors, e.g. ``"state['ticket']"``.
        thread_id: named in errors.

    Returns:
        ``{"v": 1, "d": <tree>}`` as UTF-8 bytes.

    Raises:
        StateSerializationError: the value (or something inside it) is not supported; the
            message names the key path, the type and the thread.
    """
    return dump_document(to_tree(value, root=root, thread_id=thread_id))


def to_tree(value: Any, *, root: str, thread_id: str) -> Any:
    """Encode ``value`` into a tagged JSON-able tree (not yet a document); see ``encode``.

    Raises:
        StateSerializationError: as ``encode``.
    """
    try:
        return _walk(value)
    except _Unsupported as exc:
        raise _serialization_error(exc, root, thread_id) from None


def dump_document(tree: Any, **extra: Any) -> bytes:
    """Wrap an already encoded tree in the versioned envelope and return UTF-8 bytes.

    ``extra`` adds envelope fields beside ``d`` (each an already encoded tree); a reader
    that does not know a field ignores it, so adding one needs no new schema version.
    """
    doc = {"v": SCHEMA_VERSION, "d": tree, **extra} if extra else {"v": SCHEMA_VERSION, "d": tree}
    text = _dumps(doc)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate in some string: the ASCII form escapes it and loads back intact.
        return _dumps_ascii(doc).encode("ascii")


def _serialization_error(exc: _Unsupported, root: str, thread_id: str) -> StateSerializationError:
    where = describe_path(root, exc.steps)
    kind = type(exc.value)
    name = (
        kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    )
    why = exc.reason or f"type {name} is not supported"
    return StateSerializationError(
        f"cannot store {where} of thread {thread_id!r}: {why} "
        f"(value of type {name}; supported: JSON types, tuple, set, bytes, datetime, date, "
        "time, timedelta, UUID, Decimal, Enum and pydantic models)"
    )


# --- decoding ------------------------------------------------------------------------------


class _BadTag(Exception):
    pass


def _load_class(path: str, base: type) -> type:
    cls = _import_class(path)
    if cls is None or not issubclass(cls, base):
        raise _BadTag(f"class {path} cannot be imported")
    return cls


def _decode_model(obj: dict[str, Any]) -> Any:
    from pydantic import BaseModel

    cls = _load_class(obj["cls"], BaseModel)
    return cls.model_validate(obj["v"])  # type: ignore[attr-defined]


_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "tuple": lambda o: tuple(o["v"]),
    "set": lambda o: set(o["v"]),
    "frozenset": lambda o: frozenset(o["v"]),
    "bytes": lambda o: base64.b64decode(o["v"]),
    "bytearray": lambda o: bytearray(base64.b64decode(o["v"])),
    "datetime": _decode_datetime,
    "date": lambda o: dt.date.fromisoformat(o["v"]),
    "time": lambda o: dt.time.fromisoformat(o["v"]),
    "timedelta": lambda o: dt.timedelta(*o["v"]),
    "uuid": lambda o: UUID(o["v"]),
    "decimal": lambda o: Decimal(o["v"]),
    "float": lambda o: float(o["v"]),
    "dict": lambda o: dict(o["v"]),
    "enum": lambda o: _load_class(o["cls"], Enum)(o["v"]),
    "model": _decode_model,
}


def _object_hook(obj: dict[str, Any]) -> Any:
    tag = obj.get(_TAG)
    if tag is None:
        return obj
    decoder = _DECODERS.get(tag)
    if decoder is None:
        raise _BadTag(f"unknown tag {tag!r}")
    return decoder(obj)


def decode_document(data: bytes, *, what: str, thread_id: str) -> dict[str, Any]:
    """Load a whole envelope (``v``, ``d`` and any extra fields); see ``decode``.

    Raises:
        SchemaVersionError, CheckpointError: as ``decode``.
    """
    try:
        doc = json.loads(data, object_hook=_object_hook)
    except (_BadTag, ValueError, TypeError, KeyError, IndexError) as exc:
        version = _peek_version(data)
        if version is not None and version != SCHEMA_VERSION:
            raise _version_error(version, what, thread_id) from None
        raise CheckpointError(f"cannot load {what} of thread {thread_id!r}: {exc}") from exc
    if type(doc) is not dict or "v" not in doc or "d" not in doc:
        raise CheckpointError(f"cannot load {what} of thread {thread_id!r}: not a locus record")
    if doc["v"] != SCHEMA_VERSION:
        raise _version_error(doc["v"], what, thread_id)
    envelope: dict[str, Any] = doc
    return envelope


def decode(data: bytes, *, what: str, thread_id: str) -> Any:
    """Load a document written by ``encode`` and restore every tagged value to its type.

    Args:
        data: the stored bytes.
        what: how the value is named in errors, e.g. ``"state['ticket']"``.
        thread_id: named in errors.

    Raises:
        SchemaVersionError: the document has a schema version this release cannot read.
        CheckpointError: the document is damaged, or names a class that cannot be imported
            any more (the message names the thread, the value and the cause).
    """
    return decode_document(data, what=what, thread_id=thread_id)["d"]


def _peek_version(data: bytes) -> Any:
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    return doc.get("v") if type(doc) is dict else None


def _version_error(version: Any, what: str, thread_id: str) -> SchemaVersionError:
    return SchemaVersionError(
        f"{what} of thread {thread_id!r} has schema version {version!r}; this release of locus "
        f"reads version {SCHEMA_VERSION}"
    )
