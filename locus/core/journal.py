"""The node journal: work a node already did is replayed, not repeated, when it re-runs.

A node paused by ``interrupt()`` re-runs from its top on resume. Everything recorded in its
journal during earlier runs (model calls an agent made, tool results, ``once()`` side
effects) is returned from the record instead of being executed again. Entries are keyed
(the n-th model call, a tool call id, a ``once`` key) and carry a fingerprint of what was
asked; a re-run that asks for something else under the same key raises
``ReplayMismatchError`` instead of silently mixing two histories.

The journal lives with the paused run (the snapshot marker or the checkpoint) and is
dropped when the node completes.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from locus.core.interrupt import _CURRENT, NodeContext, current_node_context
from locus.errors import ReplayMismatchError

__all__ = [
    "fingerprint",
    "fingerprint_bytes",
    "journal_counter",
    "lookup",
    "once",
    "record",
    "replay_or_record",
]

T = TypeVar("T")


def fingerprint(data: Any) -> str:
    """A short, stable digest of JSON-shaped ``data`` (keys sorted; same across processes)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return fingerprint_bytes(text.encode())


def fingerprint_bytes(data: bytes) -> str:
    """A short digest of already-serialized bytes."""
    return hashlib.sha256(data).hexdigest()[:24]


def journal_counter(ctx: NodeContext, kind: str) -> int:
    """The next sequence number for entries of ``kind`` in this run of the node."""
    counters = ctx.journal_counters
    if counters is None:
        counters = ctx.journal_counters = {}
    n = counters.get(kind, 0)
    counters[kind] = n + 1
    return n


def lookup(ctx: NodeContext, key: str, print_: str, about: str) -> dict[str, Any] | None:
    """The journal entry recorded under ``key`` in this node, or ``None``.

    Raises:
        ReplayMismatchError: an entry exists but was recorded for another request.
    """
    journal = ctx.journal
    entry: dict[str, Any] | None = journal.get(key) if journal else None
    if entry is not None and entry["fingerprint"] != print_:
        error = ReplayMismatchError(
            f"node {ctx.node!r} re-ran on resume but asked for {about} where its journal "
            f"recorded {entry['about']} (entry {key!r}); a node must make the same calls "
            "in the same order before its interrupt() on every run",
            node=ctx.node,
        )
        ctx.fatal_error = error
        raise error
    return entry


def record(ctx: NodeContext, key: str, print_: str, about: str, result: Any) -> None:
    """Record ``result`` (in its stored, JSON-shaped form) under ``key`` in this node."""
    journal = ctx.journal
    if journal is None:
        journal = ctx.journal = {}
    journal[key] = {"fingerprint": print_, "about": about, "result": result}


async def replay_or_record(
    key: str,
    print_: str,
    about: str,
    run: Callable[[], Awaitable[T]],
    *,
    encode: Callable[[T], Any] = lambda value: value,
    decode: Callable[[Any], T] = lambda value: value,
) -> T:
    """Return the recorded result for ``key``, or run ``run()`` and record its result.

    Outside a running graph node there is no journal and ``run()`` simply runs.

    Args:
        key: where the entry lives in the node's journal (e.g. ``"once:notify"``).
        print_: fingerprint of the request; must match the recorded one on replay.
        about: a short human description of the request, for the mismatch error.
        run: produces the result when there is no record.
        encode: turns the result into the stored (JSON-shaped) form.
        decode: turns the stored form back into the result.

    Raises:
        ReplayMismatchError: the node asked for something other than what it recorded.
    """
    ctx = _CURRENT.get()
    if ctx is None:
        return await run()
    entry = lookup(ctx, key, print_, about)
    if entry is not None:
        return decode(entry["result"])
    result = await run()
    record(ctx, key, print_, about, encode(result))
    return result


async def once(key: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Run a side effect once per node visit, however often the node re-runs on resume.

    The first run calls ``fn(*args, **kwargs)`` (awaiting it if it is async) and records
    the result in the node's journal; a re-run of the node after a pause returns the
    recorded result without calling ``fn``. The journal travels with the pause, so this
    holds across processes when the run is checkpointed.

    Args:
        key: names the effect within the node (e.g. ``"send-email"``); unique per node.
        fn: the side effect; its result should be storable (JSON types, pydantic models,
            datetimes, ...) when a checkpointer persists the pause.

    Raises:
        InterruptOutsideNodeError: when called outside a running graph node.
        ReplayMismatchError: when a re-run uses the same key for another function.
    """
    current_node_context("once()")

    async def run() -> Any:
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    name = getattr(fn, "__qualname__", type(fn).__name__)
    about = f"once({key!r}, {name})"
    # Only the function's name is fingerprinted: arguments may legitimately differ
    # between runs (timestamps, objects without a stable repr).
    return await replay_or_record(f"once:{key}", fingerprint(name), about, run)
