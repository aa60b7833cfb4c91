"""Durable checkpoints for paused and running graph threads.

``MemoryCheckpointer`` and ``SQLiteCheckpointer`` need nothing beyond the standard library.
``PostgresCheckpointer`` needs the ``postgres`` extra and ``RedisCheckpointer`` the ``redis``
extra; they are imported on first use, so ``import locus.checkpoint`` never imports
psycopg or redis.

Stored enums and pydantic models are restored only to classes registered before reading
(``register_type``, ``types=[...]``): reading never imports a module named by stored data.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from locus.checkpoint.base import Checkpointer
from locus.checkpoint.connect import connect
from locus.checkpoint.memory import MemoryCheckpointer
from locus.checkpoint.records import (
    CheckpointStatus,
    PendingInterrupt,
    PendingItem,
    PendingPage,
    StoredCheckpoint,
)
from locus.checkpoint.sqlite import SQLiteCheckpointer
from locus.checkpoint.types import TypeRegistry, register_type
from locus.errors import MissingDependencyError

if TYPE_CHECKING:
    from locus.checkpoint.postgres import PostgresCheckpointer
    from locus.checkpoint.redis import RedisCheckpointer

__all__ = [
    "CheckpointStatus",
    "Checkpointer",
    "MemoryCheckpointer",
    "PendingInterrupt",
    "PendingItem",
    "PendingPage",
    "PostgresCheckpointer",
    "RedisCheckpointer",
    "SQLiteCheckpointer",
    "StoredCheckpoint",
    "TypeRegistry",
    "connect",
    "register_type",
]

_LAZY: dict[str, tuple[str, str, str]] = {
    "PostgresCheckpointer": ("locus.checkpoint.postgres", "postgres", "psycopg"),
    "RedisCheckpointer": ("locus.checkpoint.redis", "redis", "redis"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'locus.checkpoint' has no attribute {name!r}")
    module_name, extra, sdk = _LAZY[name]
    try:
        module = import_module(module_name)
    except ImportError as exc:
        if exc.name is None or exc.name.partition(".")[0] not in {sdk, f"{sdk}_pool"}:
            raise
        raise MissingDependencyError(
            f"{name} needs the {sdk!r} package: pip install 'locus[{extra}]'"
        ) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value
