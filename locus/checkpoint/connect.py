"""Open a checkpointer from a store URL, the form the CLI, workers and ``LOCUS_STORE`` use.

==========================================  ===============================================
URL                                         store
==========================================  ===============================================
``memory://``                               ``MemoryCheckpointer`` (this process only)
``sqlite:///relative/path.db``              ``SQLiteCheckpointer("relative/path.db")``
``sqlite:////absolute/path.db``             ``SQLiteCheckpointer("/absolute/path.db")``
``postgresql://user@host:5432/db``          ``PostgresCheckpointer(url)`` (``postgres://`` too)
``redis://host:6379/0`` (``rediss://``)     ``RedisCheckpointer(url)``
==========================================  ===============================================

The SQLite forms are the ones SQLAlchemy writes: three slashes and a relative path, four
slashes and an absolute one. A few locus options ride in the query string and are removed
before the URL reaches the driver: ``?synchronous=NORMAL`` for SQLite, ``?schema=name`` for
PostgreSQL and ``?prefix=name:`` for Redis.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from locus.errors import CheckpointUsageError

if TYPE_CHECKING:
    from locus.checkpoint.base import Checkpointer

__all__ = ["STORE_ENV", "connect", "store_url_from_env"]

STORE_ENV = "LOCUS_STORE"
"""The environment variable the CLI and workers read a store URL from."""

_SCHEMES = ("memory", "sqlite", "postgresql", "postgres", "redis", "rediss")
_OPTIONS = {"sqlite": {"synchronous"}, "postgres": {"schema"}, "redis": {"prefix"}}


def connect(url: str, *, types: Iterable[type] = ()) -> Checkpointer:
    """Return the checkpointer a store URL names (not yet set up; it sets up on first use).

    Args:
        url: a store URL, see the module docstring.
        types: enum and pydantic model classes the checkpointer may restore.

    Raises:
        CheckpointUsageError: the URL is malformed, names an unknown scheme or an option
            its store does not take; the message says which forms are accepted.
        MissingDependencyError: the store's extra (``postgres``, ``redis``) is not installed.
    """
    if not isinstance(url, str) or "://" not in url:
        raise CheckpointUsageError(
            f"store URL {url!r} is not a URL; use memory://, sqlite:///path.db, "
            "postgresql://... or redis://..."
        )
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        close = difflib.get_close_matches(scheme, _SCHEMES, n=1)
        hint = f" (did you mean {close[0]}://?)" if close else ""
        raise CheckpointUsageError(
            f"store URL {_redact(url)!r} has unknown scheme {scheme!r}{hint}; use memory://, "
            "sqlite:///path.db, postgresql://... or redis://..."
        )
    family = {"postgresql": "postgres", "rediss": "redis"}.get(scheme, scheme)
    query = parse_qsl(parts.query, keep_blank_values=True)
    options = {k: v for k, v in query if k in _OPTIONS.get(family, set())}
    if family in ("memory", "sqlite"):
        unknown = [k for k, _ in query if k not in options]
        if unknown:
            raise CheckpointUsageError(
                f"store URL {_redact(url)!r}: unknown option {unknown[0]!r}; {family} takes "
                + (", ".join(sorted(_OPTIONS.get(family, ()))) or "none")
            )
    driver_query = urlencode([q for q in query if q[0] not in options])
    driver_url = urlunsplit(parts._replace(query=driver_query))

    if family == "memory":
        from locus.checkpoint.memory import MemoryCheckpointer

        return MemoryCheckpointer(types=types)
    if family == "sqlite":
        from locus.checkpoint.sqlite import SQLiteCheckpointer

        path = _sqlite_path(url, parts.netloc, parts.path)
        synchronous = options.get("synchronous", "FULL").upper()
        if synchronous not in ("FULL", "NORMAL"):
            raise CheckpointUsageError(
                f"store URL {url!r}: synchronous must be FULL or NORMAL, got {synchronous!r}"
            )
        return SQLiteCheckpointer(path, synchronous=synchronous, types=types)  # type: ignore[arg-type]
    if family == "postgres":
        from locus.checkpoint import PostgresCheckpointer

        return PostgresCheckpointer(driver_url, schema=options.get("schema", "public"), types=types)
    from locus.checkpoint import RedisCheckpointer

    return RedisCheckpointer(driver_url, prefix=options.get("prefix", "locus:"), types=types)


def store_url_from_env(environ: dict[str, str] | None = None) -> str | None:
    """Return ``LOCUS_STORE`` from the environment, or ``None`` when it is unset or empty."""
    value = (os.environ if environ is None else environ).get(STORE_ENV, "").strip()
    return value or None


def _sqlite_path(url: str, netloc: str, path: str) -> str:
    if netloc:
        raise CheckpointUsageError(
            f"store URL {url!r}: a SQLite URL has no host; write sqlite:///relative.db or "
            "sqlite:////absolute/path.db"
        )
    # urlsplit keeps the leading slash: "/rel.db" for three slashes, "//abs.db" for four
    relative = path[1:]
    if not relative or relative.endswith("/"):
        raise CheckpointUsageError(
            f"store URL {url!r} names no database file; write sqlite:///relative.db or "
            "sqlite:////absolute/path.db"
        )
    return relative


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))
