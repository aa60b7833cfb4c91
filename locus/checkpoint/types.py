"""Which classes stored data may name: a registry filled before anything is read.

A stored enum member or pydantic model names its class, by default as ``"module:Qualname"``.
Reading never imports a module to find that class: anyone able to write to the store could
otherwise make every reader import any module on ``sys.path`` and run its top-level code.
A name is restored only if a class was registered under it, in the reading process, by:

* ``@register_type`` on the class (or ``register_type(cls)``): for every reader in the
  process;
* ``types=[...]`` on a checkpointer: for what that checkpointer reads;
* ``StateGraph(..., types=[...])``: added to the graph's checkpointer;
* writing it: a class this process stores is registered for the whole process as it is
  encoded (see ``serializer``);
* being one of locus's own classes that runs store (messages, tool calls, usage,
  tool approvals): these are known in advance.

Registering a pydantic model also registers the enums and models named in its field
annotations (``list[Item]``, ``Status | None``, ...), since its stored fields name them.
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Callable, Iterable
from enum import Enum
from importlib import import_module
from typing import Any, TypeVar, overload

from locus.errors import CheckpointUsageError

__all__ = ["DEFAULT_TYPES", "TypeRegistry", "default_name", "register_type", "storable_class"]

T = TypeVar("T", bound=type)

#: locus's own classes that runs store, by stored name: (locus module, attribute). Only
#: these fixed modules are ever imported on a lookup, and only for these exact names.
_LOCUS_TYPES: dict[str, tuple[str, str]] = {
    f"{module}:{attr}": (module, attr)
    for module, attr in (
        ("locus.core.messages", "Message"),
        ("locus.core.messages", "ToolCall"),
        ("locus.core.messages", "Usage"),
        ("locus.agent.approval", "ToolApproval"),
    )
}


def default_name(cls: type) -> str:
    """The name a class is stored under unless registered with another: ``module:Qualname``."""
    return f"{cls.__module__}:{cls.__qualname__}"


def _is_model(cls: type) -> bool:
    # pydantic is imported lazily (tens of ms); a class can only be a model once it is loaded
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and issubclass(cls, pydantic.BaseModel)


def storable_class(cls: Any) -> bool:
    """Whether ``cls`` is a class the serializer can store by name (an Enum or a model)."""
    return isinstance(cls, type) and (issubclass(cls, Enum) or _is_model(cls))


class TypeRegistry:
    """Stored names and the classes they may be restored to.

    A registry with a ``parent`` also finds everything the parent knows, as it is at
    lookup time; each checkpointer has one over the process-wide ``DEFAULT_TYPES``.

    Args:
        types: Enum and pydantic model classes to register at once.
        parent: a registry to fall back on.

    Raises:
        CheckpointUsageError: as ``register``.
    """

    __slots__ = ("_by_class", "_by_name", "_parent")

    def __init__(self, types: Iterable[type] = (), *, parent: TypeRegistry | None = None) -> None:
        self._by_name: dict[str, type] = {}
        self._by_class: dict[type, str] = {}
        self._parent = parent
        for cls in types:
            self.register(cls)

    def register(self, cls: type, *, name: str | None = None) -> None:
        """Allow stored data to name ``cls`` (and the enums and models its fields declare).

        Registering a class again changes nothing; registering a class defined again under
        the same module and qualified name (a reloaded module) replaces the old one.

        Args:
            cls: an ``Enum`` subclass or a pydantic model class.
            name: the stored name; defaults to ``"module:Qualname"``. Give one to keep old
                threads loading after moving or renaming the class.

        Raises:
            CheckpointUsageError: ``cls`` is not an Enum or pydantic model class, or the
                name is already registered for a different class.
        """
        if not storable_class(cls):
            raise CheckpointUsageError(
                f"register_type takes an Enum or a pydantic model class, got {cls!r}"
            )
        if name is not None and (not isinstance(name, str) or not name):
            raise CheckpointUsageError(f"a stored type name must be a non-empty str, got {name!r}")
        self.add(cls, name or default_name(cls))
        for declared in _declared_types(cls):
            if self.name_of(declared) is None:
                self.add(declared, default_name(declared))

    def add(self, cls: type, name: str) -> None:
        """Register ``cls`` under exactly ``name`` (no field walk, no class check).

        Raises:
            CheckpointUsageError: ``name`` belongs to another class.
        """
        held = self._by_name.get(name)
        if held is not None and held is not cls and default_name(held) != default_name(cls):
            raise CheckpointUsageError(
                f"stored type name {name!r} is already registered for {default_name(held)}; "
                f"register {default_name(cls)} under another name"
            )
        self._by_name[name] = cls
        self._by_class[cls] = name

    def resolve(self, name: str) -> type | None:
        """The class registered under ``name`` here or in a parent; ``None`` if there is none.

        Never imports anything but the fixed locus modules of locus's own stored classes.
        """
        cls = self._by_name.get(name)
        if cls is not None:
            return cls
        if self._parent is not None:
            return self._parent.resolve(name)
        spec = _LOCUS_TYPES.get(name)
        if spec is None:
            return None
        found: type = getattr(import_module(spec[0]), spec[1])
        self.add(found, name)
        return found

    def name_of(self, cls: type) -> str | None:
        """The name ``cls`` is registered under here or in a parent, or ``None``."""
        name = self._by_class.get(cls)
        if name is None and self._parent is not None:
            return self._parent.name_of(cls)
        return name


DEFAULT_TYPES = TypeRegistry()
"""The process-wide registry: ``register_type`` adds to it; every checkpointer reads it."""


@overload
def register_type(cls: T, *, name: str | None = None) -> T: ...


@overload
def register_type(cls: None = None, *, name: str | None = None) -> Callable[[T], T]: ...


def register_type(cls: T | None = None, *, name: str | None = None) -> T | Callable[[T], T]:
    """Let every checkpointer in this process restore ``cls`` from stored data.

    Usable as ``@register_type``, ``@register_type(name="billing:Invoice")`` or a call.
    Register a class in every process that reads threads storing it (a worker, a web
    inbox), typically by decorating it where it is defined. The enums and models named in
    a model's field annotations are registered with it.

    Returns:
        ``cls`` unchanged (or, without ``cls``, a decorator).

    Raises:
        CheckpointUsageError: as ``TypeRegistry.register``.
    """

    def decorate(target: T) -> T:
        DEFAULT_TYPES.register(target, name=name)
        return target

    return decorate if cls is None else decorate(cls)


def _declared_types(cls: type) -> list[type]:
    """The enums and models named in ``cls``'s field annotations, nested models' too."""
    found: list[type] = []
    if not _is_model(cls):
        return found
    seen: set[Any] = {cls}
    models = [cls]
    while models:
        fields = getattr(models.pop(), "model_fields", {})
        todo = [field.annotation for field in fields.values() if _hashable(field.annotation)]
        while todo:
            hint = todo.pop()
            if hint in seen:
                continue
            seen.add(hint)
            if storable_class(hint):
                found.append(hint)
                if _is_model(hint):
                    models.append(hint)
            else:
                todo.extend(arg for arg in typing.get_args(hint) if _hashable(arg))
    return found


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
