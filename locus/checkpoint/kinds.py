"""Which of locus's own stores a checkpointer is, for packages that keep data beside it.

Workers keep a work queue and notifications a delivery ledger in the same store as the
threads; each picks its implementation by the checkpointer's kind. The PostgreSQL and
Redis classes are looked up only when their modules are loaded (as they must be for such a
checkpointer to exist), so asking never imports psycopg or redis.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from locus.checkpoint.base import Checkpointer

__all__ = ["StoreKind", "store_kind"]

StoreKind = Literal["memory", "sqlite", "postgres", "redis"]

_CLASSES: tuple[tuple[StoreKind, str, str], ...] = (
    ("memory", "locus.checkpoint.memory", "MemoryCheckpointer"),
    ("sqlite", "locus.checkpoint.sqlite", "SQLiteCheckpointer"),
    ("postgres", "locus.checkpoint.postgres", "PostgresCheckpointer"),
    ("redis", "locus.checkpoint.redis", "RedisCheckpointer"),
)


def store_kind(checkpointer: Checkpointer) -> StoreKind | None:
    """Return the kind of locus store ``checkpointer`` is (subclasses included), or
    ``None`` for a third-party checkpointer."""
    for kind, module_name, class_name in _CLASSES:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(checkpointer, getattr(module, class_name)):
            return kind
    return None
