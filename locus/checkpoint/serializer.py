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
``Enum`` member           ``{"$t": "enum", "cls": "<registered name>", "v": <value>}``
pydantic model            ``{"$t": "model", "cls": "<registered name>", "v": <fields>}``
other ``dict``            ``{"$t": "dict", "v": [[key, value], ...]}``
========================  ===========================================================

The last row keeps round trips exact for a dict whose keys are not all strings, or that
has a ``"$t"`` key of its own and so looks like a tag. Subclasses of ``str``, ``int`` and
``float`` that are not enums (``numpy.float64``, ...) are refused: storing them as the base
type would change their type silently. The same goes for subclasses of ``dict`` and
``list`` (``OrderedDict``, ``defaultdict``, ...) and for dataclasses: convert them first.

Classes by name, never by import
    An enum or model is stored under the name it is registered with (``module:Qualname``
    by default), and read back only from a registry filled before reading (see
    ``locus.checkpoint.types``): reading never imports a module. A name nobody registered
    is an ``UnknownStoredTypeError`` naming the thread, the value and the class.

    Writing a class that is not registered yet registers it, for this whole process. The
    writer holds the class object, so nothing is imported and nothing unknown becomes
    loadable: only classes the application itself stored. It keeps a process that pauses
    and resumes its own threads free of ceremony, and costs nothing in safety; a process
    that only reads (a worker, a web inbox) must register the classes it restores, and the
    error it gets otherwise says how. A class defined inside a function is not registered
    implicitly (its name is not unique): register it explicitly, with a ``name=``.

Limits, checked before anything is written
    A value may nest at most ``MAX_DEPTH`` containers deep (lists, dicts, tuples, sets,
    models, ...), so every stored document can be read back within Python's recursion
    limit; a cyclic value is reported as a cycle, with the path where it closes. An int
    too long for ``str()`` (``sys.get_int_max_str_digits()``) is refused by name. Reading a
    document nested too deep to parse (damaged, or not written by locus) is a
    ``CheckpointError``, never a ``RecursionError``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from locus.checkpoint.types import DEFAULT_TYPES, TypeRegistry, default_name
from locus.errors import (
    CheckpointError,
    CheckpointUsageError,
    SchemaVersionError,
    StateSerializationError,
    UnknownStoredTypeError,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "MAX_DEPTH",
    "SCHEMA_VERSION",
    "decode",
    "decode_document",
    "describe_path",
    "dump_document",
    "encode",
    "explain_unwritable",
    "to_tree",
]

SCHEMA_VERSION = 1
"""The version written into every stored document."""

MAX_DEPTH = 100
"""How many levels deep a stored value may nest (see the module docstring)."""

_TAG = "$t"
#: exact types stored as they are (float is not: NaN and infinities need a tag)
_PLAIN = frozenset({str, int, bool, type(None)})
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_dumps_ascii = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode
_SUPPORTED = (
    "supported: JSON types, tuple, set, bytes, datetime, date, time, timedelta, UUID, "
    "Decimal, Enum and pydantic models"
)


class _Unsupported(Exception):
    """Internal: a value that cannot be stored; each level of the walk adds its path step."""

    def __init__(self, value: Any, reason: str = "", *, hint: bool = True) -> None:
        super().__init__(reason)
        self.value = value
        self.reason = reason
        self.hint = hint  # add the type and the list of supported types to the message
        self.steps: list[str] = []


class _TooDeep(_Unsupported):
    """Internal: the walk went past ``MAX_DEPTH`` (a deep value, or a cycle)."""


def _class_name(cls: type, types: TypeRegistry) -> str:
    """The name ``cls`` is stored under; registers it process-wide on first use."""
    name = types.name_of(cls)
    if name is not None:
        return name
    name = default_name(cls)
    if "<locals>" in cls.__qualname__:
        raise _Unsupported(
            cls,
            f"class {name} is defined inside a function, so its name is not unique; "
            "register it with locus.checkpoint.register_type(cls, name=...) to store it",
            hint=False,
        )
    try:
        DEFAULT_TYPES.add(cls, name)
    except CheckpointUsageError as exc:
        raise _Unsupported(cls, str(exc), hint=False) from None
    return name


def _walk(value: Any, depth: int, types: TypeRegistry) -> Any:
    """Turn ``value`` into a JSON-able tree with tags (see the module docstring).

    Raises:
        _Unsupported: internal; ``to_tree`` turns it into ``StateSerializationError``.
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is float:
        return value if math.isfinite(value) else {_TAG: "float", "v": repr(value)}
    if depth >= MAX_DEPTH:
        raise _TooDeep(value)
    depth += 1
    if kind is dict:
        return _encode_dict(value, depth, types)
    if kind is list:
        return _encode_list(value, depth, types)
    encoder = _ENCODERS.get(kind)
    if encoder is not None:
        return encoder(value, depth, types)
    if isinstance(value, Enum):
        try:
            inner = _walk(value.value, depth, types)
        except _Unsupported as exc:
            exc.steps.append(".value")
            raise
        return {_TAG: "enum", "cls": _class_name(kind, types), "v": inner}
    # pydantic is imported lazily (it costs tens of ms at start-up); a value can only be
    # a pydantic model if pydantic has been imported already
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(value, pydantic.BaseModel):
        return _encode_model(value, depth, types)
    raise _Unsupported(value)


def _encode_list(value: list[Any], depth: int, types: TypeRegistry) -> list[Any]:
    out = []
    for i, item in enumerate(value):
        if type(item) in _PLAIN:  # the common case, without a call
            out.append(item)
            continue
        try:
            out.append(_walk(item, depth, types))
        except _Unsupported as exc:
            exc.steps.append(f"[{i}]")
            raise
    return out


def _encode_dict(value: dict[Any, Any], depth: int, types: TypeRegistry) -> Any:
    if _TAG in value:
        return _encode_pairs(value, depth, types)
    out = {}
    for key, item in value.items():
        if type(key) is not str:
            return _encode_pairs(value, depth, types)
        if type(item) in _PLAIN:  # the common case, without a call
            out[key] = item
            continue
        try:
            out[key] = _walk(item, depth, types)
        except _Unsupported as exc:
            exc.steps.append(f"[{key!r}]")
            raise
    return out


def _encode_pairs(value: dict[Any, Any], depth: int, types: TypeRegistry) -> Any:
    """A dict whose keys are not all str, or that has the tag key: stored as pairs."""
    pairs = []
    for key, item in value.items():
        try:
            pairs.append([_walk(key, depth, types), _walk(item, depth, types)])
        except _Unsupported as exc:
            exc.steps.append(f"[{_safe_repr(key)}]")
            raise
    return {_TAG: "dict", "v": pairs}


def _encode_items(tag: str) -> Callable[[Any, int, TypeRegistry], Any]:
    def encode_items(value: Any, depth: int, types: TypeRegistry) -> Any:
        if tag != "tuple":
            with contextlib.suppress(TypeError):  # equal sets then store as equal bytes
                value = sorted(value)
        out = []
        for i, item in enumerate(value):
            try:
                out.append(_walk(item, depth, types))
            except _Unsupported as exc:
                exc.steps.append(f"[{i}]" if tag == "tuple" else f"{{item {_safe_repr(item)}}}")
                raise
        return {_TAG: tag, "v": out}

    return encode_items


def _encode_model(model: BaseModel, depth: int, types: TypeRegistry) -> Any:
    name = _class_name(type(model), types)
    try:
        fields = model.model_dump(round_trip=True)
    except Exception as exc:
        raise _Unsupported(model, f"model_dump failed: {exc}") from exc
    out = {}
    for field, item in fields.items():
        try:
            out[field] = _walk(item, depth, types)
        except _Unsupported as exc:
            exc.steps.append(f".{field}")
            raise
    return {_TAG: "model", "cls": name, "v": out}


def _b64(tag: str) -> Callable[[Any, int, TypeRegistry], Any]:
    return lambda value, _d, _t: {_TAG: tag, "v": base64.b64encode(value).decode("ascii")}


def _encode_datetime(value: dt.datetime, _depth: int, _types: TypeRegistry) -> Any:
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


def _iso(tag: str) -> Callable[[Any, int, TypeRegistry], Any]:
    return lambda value, _d, _t: {_TAG: tag, "v": value.isoformat()}


def _encode_timedelta(value: dt.timedelta, _depth: int, _types: TypeRegistry) -> Any:
    return {_TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}


_ENCODERS: dict[type, Callable[[Any, int, TypeRegistry], Any]] = {
    tuple: _encode_items("tuple"),
    set: _encode_items("set"),
    frozenset: _encode_items("frozenset"),
    bytes: _b64("bytes"),
    bytearray: _b64("bytearray"),
    dt.datetime: _encode_datetime,
    dt.date: _iso("date"),
    dt.time: _iso("time"),
    dt.timedelta: _encode_timedelta,
    UUID: lambda v, _d, _t: {_TAG: "uuid", "v": str(v)},
    Decimal: lambda v, _d, _t: {_TAG: "decimal", "v": str(v)},
}


def describe_path(root: str, steps: list[str]) -> str:
    """Render a key path such as ``state['ticket']['attachments'][2]`` (steps innermost first)."""
    return root + "".join(reversed(steps))


def encode(
    value: Any,
    *,
    root: str,
    thread_id: str,
    about: str = "",
    types: TypeRegistry | None = None,
) -> bytes:
    """Serialize one value into a versioned UTF-8 JSON document.

    Args:
        value: the value to store.
        root: how the value is named in errors, e.g. ``"state['ticket']"``.
        thread_id: named in errors.
        about: more context for errors, e.g. ``"interrupt 'i1' of node 'review'"``.
        types: the registry that names stored classes (custom names); the process-wide
            one by default. A class not registered anywhere is registered process-wide.

    Returns:
        ``{"v": 1, "d": <tree>}`` as UTF-8 bytes.

    Raises:
        StateSerializationError: the value (or something inside it) cannot be stored: an
            unsupported type, a cycle, nesting deeper than ``MAX_DEPTH``, an int too long
            to write. The message names the key path, the cause and the thread.
    """
    return encode_with_tree(value, root=root, thread_id=thread_id, about=about, types=types)[1]


def encode_with_tree(
    value: Any,
    *,
    root: str,
    thread_id: str,
    about: str = "",
    types: TypeRegistry | None = None,
) -> tuple[Any, bytes]:
    """``encode``, also returning the tagged tree, for a caller that stores it inside
    another document later (and so must not walk the value twice).

    Raises:
        StateSerializationError: as ``encode``.
    """
    tree = to_tree(value, root=root, thread_id=thread_id, about=about, types=types)
    try:
        return tree, dump_document(tree)
    except ValueError:
        raise explain_unwritable([(value, root, about)], thread_id) from None


def to_tree(
    value: Any,
    *,
    root: str,
    thread_id: str,
    about: str = "",
    types: TypeRegistry | None = None,
) -> Any:
    """Encode ``value`` into a tagged JSON-able tree (not yet a document); see ``encode``.

    Raises:
        StateSerializationError: as ``encode``, except for ints too long to write, which
            only ``dump_document`` finds (see ``explain_unwritable``).
    """
    try:
        return _walk(value, 0, DEFAULT_TYPES if types is None else types)
    except _TooDeep as exc:
        raise _nesting_error(value, exc.steps, root, about, thread_id) from None
    except _Unsupported as exc:
        raise _serialization_error(exc, root, about, thread_id) from None
    except RecursionError:
        # the caller's own stack was already deep, or a model's dump recursed
        raise _nesting_error(value, [], root, about, thread_id) from None


def dump_document(tree: Any, **extra: Any) -> bytes:
    """Wrap an already encoded tree in the versioned envelope and return UTF-8 bytes.

    ``extra`` adds envelope fields beside ``d`` (each an already encoded tree); a reader
    that does not know a field ignores it, so adding one needs no new schema version.

    Raises:
        ValueError: an int in the tree is too long for ``str()``; name it with
            ``explain_unwritable``.
    """
    doc = {"v": SCHEMA_VERSION, "d": tree, **extra} if extra else {"v": SCHEMA_VERSION, "d": tree}
    text = _dumps(doc)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate in some string: the ASCII form escapes it and loads back intact.
        return _dumps_ascii(doc).encode("ascii")


def explain_unwritable(
    parts: Iterable[tuple[Any, str, str]], thread_id: str
) -> StateSerializationError:
    """The error for a document ``dump_document`` refused: names the int that is too long.

    Args:
        parts: the original values that went into the document, each with its ``root``
            and ``about`` (as given to ``to_tree``).
        thread_id: named in the error.
    """
    limit = sys.get_int_max_str_digits()
    for value, root, about in parts:
        found = _diagnose(value)
        if found is not None and found[0] == "int":
            where = _render(root, found[1])
            return StateSerializationError(
                f"cannot store {where}{_about(about)} of thread {thread_id!r}: an int with "
                f"more than {limit} digits cannot be written (sys.get_int_max_str_digits()); "
                "store it as a str or a Decimal"
            )
    return StateSerializationError(f"cannot store a value of thread {thread_id!r} as JSON")


def _about(about: str) -> str:
    return f" ({about})" if about else ""


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # an int too long for str(), or a broken __repr__
        return f"<{type(value).__name__}>"


def _render(root: str, steps: list[str]) -> str:
    """``root`` followed by ``steps`` (outermost first), shortened when very deep."""
    if len(steps) <= 12:
        return root + "".join(steps)
    return f"{root}{''.join(steps[:8])}...({len(steps) - 8} more levels)"


def _serialization_error(
    exc: _Unsupported, root: str, about: str, thread_id: str
) -> StateSerializationError:
    where = _render(root, exc.steps[::-1])
    kind = type(exc.value)
    name = (
        kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    )
    why = exc.reason or f"type {name} is not supported"
    tail = f" (value of type {name}; {_SUPPORTED})" if exc.hint else ""
    return StateSerializationError(
        f"cannot store {where}{_about(about)} of thread {thread_id!r}: {why}{tail}"
    )


def _nesting_error(
    value: Any, steps: list[str], root: str, about: str, thread_id: str
) -> StateSerializationError:
    found = _diagnose(value)
    if found is not None and found[0] == "cycle":
        _, path, closes_at = found
        return StateSerializationError(
            f"cannot store {_render(root, path)}{_about(about)} of thread {thread_id!r}: it "
            f"is {_render(root, path[:closes_at])} itself, which contains it (a cycle); store "
            "a copy without the cycle"
        )
    steps = found[1] if found is not None and found[0] == "deep" else steps[::-1]
    return StateSerializationError(
        f"cannot store {_render(root, steps)}{_about(about)} of thread {thread_id!r}: it "
        f"nests deeper than {MAX_DEPTH} levels, the most a stored value may nest; flatten "
        "it, or store such data as a JSON string"
    )


# --- finding the culprit, off the fast path -----------------------------------------------


def _children(value: Any) -> Iterator[tuple[str, Any]]:
    """The values ``value`` holds, each with its path step, as the encoder walks them."""
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str:
                yield f"{{key {_safe_repr(key)}}}", key
            yield f"[{_safe_repr(key)}]", item
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield f"[{i}]", item
    elif isinstance(value, set | frozenset):
        for item in value:
            yield f"{{item {_safe_repr(item)}}}", item
    elif isinstance(value, Enum):
        yield ".value", value.value
    else:
        for field in getattr(type(value), "model_fields", ()):
            yield f".{field}", getattr(value, field, None)


def _int_too_long(value: Any, limit: int) -> bool:
    if not isinstance(value, int) or not limit or value.bit_length() <= 3 * limit:
        return False
    try:
        str(value)
    except ValueError:
        return True
    return False


def _diagnose(value: Any) -> tuple[str, list[str], int] | None:
    """Find the first cycle, level past ``MAX_DEPTH`` or too-long int inside ``value``.

    Iterative, so it works where the recursive walk ran out of stack.

    Returns:
        ``("cycle", path, i)`` where ``path[:i]`` leads to the container the cycle
        returns to; ``("deep", path, 0)``; ``("int", path, 0)``; or ``None``. Paths are
        lists of steps, outermost first.
    """
    limit = sys.get_int_max_str_digits()
    if _int_too_long(value, limit):
        return ("int", [], 0)
    path_ids = [id(value)]
    steps: list[str] = []
    stack = [_children(value)]
    while stack:
        for step, child in stack[-1]:
            if _int_too_long(child, limit):
                return ("int", [*steps, step], 0)
            if type(child) in _PLAIN or type(child) is float:
                continue
            if id(child) in path_ids:
                return ("cycle", [*steps, step], path_ids.index(id(child)))
            if len(stack) >= MAX_DEPTH:
                return ("deep", [*steps, step], 0)
            path_ids.append(id(child))
            steps.append(step)
            stack.append(_children(child))
            break
        else:
            stack.pop()
            path_ids.pop()
            if steps:
                steps.pop()
    return None


# --- decoding ------------------------------------------------------------------------------


class _BadTag(Exception):
    pass


class _UnknownName(Exception):
    """Internal: stored data names a class no registry knows."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _load_class(name: Any, base: type, types: TypeRegistry) -> Any:
    if type(name) is not str:
        raise _BadTag(f"a stored class name must be a str, got {_safe_repr(name)}")
    cls = types.resolve(name)
    if cls is None:
        raise _UnknownName(name)
    if not issubclass(cls, base):
        raise _BadTag(f"class {name} is registered, but is not a {base.__name__}")
    return cls


def _decode_model(obj: dict[str, Any], types: TypeRegistry) -> Any:
    from pydantic import BaseModel

    return _load_class(obj["cls"], BaseModel, types).model_validate(obj["v"])


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
}


def _object_hook(types: TypeRegistry) -> Callable[[dict[str, Any]], Any]:
    def object_hook(obj: dict[str, Any]) -> Any:
        tag = obj.get(_TAG)
        if tag is None:
            return obj
        decoder = _DECODERS.get(tag)
        if decoder is not None:
            return decoder(obj)
        if tag == "model":
            return _decode_model(obj, types)
        if tag == "enum":
            return _load_class(obj["cls"], Enum, types)(obj["v"])
        raise _BadTag(f"unknown tag {tag!r}")

    return object_hook


def decode_document(
    data: bytes, *, what: str, thread_id: str, types: TypeRegistry | None = None
) -> dict[str, Any]:
    """Load a whole envelope (``v``, ``d`` and any extra fields); see ``decode``.

    Raises:
        SchemaVersionError, UnknownStoredTypeError, CheckpointError: as ``decode``.
    """
    try:
        doc = json.loads(data, object_hook=_object_hook(DEFAULT_TYPES if types is None else types))
    except RecursionError:
        raise CheckpointError(
            f"cannot load {what} of thread {thread_id!r}: the stored document is nested too "
            "deep to read (it is damaged, or was not written by locus)"
        ) from None
    except _UnknownName as exc:
        version = _peek_version(data)
        if version is not None and version != SCHEMA_VERSION:
            raise _version_error(version, what, thread_id) from None
        raise UnknownStoredTypeError(
            f"cannot load {what} of thread {thread_id!r}: it names the class {exc.name!r}, "
            "which is not registered in this process (locus never imports a class named by "
            "stored data). Register it before reading: decorate the class with "
            "@locus.checkpoint.register_type, or pass types=[...] to the checkpointer or to "
            "StateGraph(..., types=[...])"
        ) from None
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


def decode(data: bytes, *, what: str, thread_id: str, types: TypeRegistry | None = None) -> Any:
    """Load a document written by ``encode`` and restore every tagged value to its type.

    Never imports anything: enum and model classes come from ``types`` only.

    Args:
        data: the stored bytes.
        what: how the value is named in errors, e.g. ``"state['ticket']"``.
        thread_id: named in errors.
        types: the classes stored names may be restored to; the process-wide registry
            by default.

    Raises:
        SchemaVersionError: the document has a schema version this release cannot read.
        UnknownStoredTypeError: the document names a class that is not registered (the
            message names the thread, the value and the class, and how to register it).
        CheckpointError: the document is damaged or nested too deep to read (the
            message names the thread, the value and the cause).
    """
    return decode_document(data, what=what, thread_id=thread_id, types=types)["d"]


def _peek_version(data: bytes) -> Any:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return doc.get("v") if type(doc) is dict else None


def _version_error(version: Any, what: str, thread_id: str) -> SchemaVersionError:
    return SchemaVersionError(
        f"{what} of thread {thread_id!r} has schema version {version!r}; this release of locus "
        f"reads version {SCHEMA_VERSION}"
    )
