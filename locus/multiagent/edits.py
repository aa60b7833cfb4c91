"""Changing a stored thread from outside its nodes: ``update_state`` and ``fork``.

Both write an ordinary checkpoint under the thread's lease, so neither can race an
execution of the thread, and both leave a record in the run's audit list (see
``RunState.audit``) saying who did what and when.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from locus.checkpoint import codec, serializer
from locus.errors import (
    GraphDefinitionError,
    GraphMismatchError,
    InvalidInputError,
    ReducerError,
    ThreadNotFoundError,
)
from locus.multiagent import leases
from locus.multiagent.run_state import PAUSE_KEY

if TYPE_CHECKING:
    from locus.checkpoint import Checkpointer, StoredCheckpoint
    from locus.multiagent.plan import GraphPlan

__all__ = ["fork_thread", "update_thread"]


async def update_thread(
    checkpointer: Checkpointer,
    plan: GraphPlan,
    lease_seconds: float,
    thread_id: str,
    values: Mapping[str, Any],
    *,
    as_node: str | None,
    actor: str | None,
) -> int:
    """Write ``values`` into the latest checkpoint of ``thread_id`` as a new checkpoint.

    Keys with a reducer go through it, as if ``as_node`` had returned them. The thread's
    status, pending interrupts and next nodes stay as they were.

    Returns:
        The new checkpoint's number.

    Raises:
        InvalidInputError: ``values`` is not a dict, or holds a runtime key.
        GraphDefinitionError: ``as_node`` is not a node of the graph.
        ThreadNotFoundError: no such thread.
        GraphMismatchError: the thread belongs to another graph.
        ResumeConflictError: an execution holds the thread.
        StateSerializationError: a value cannot be stored (nothing is written).
        ReducerError: a reducer raised (nothing is written).
    """
    if not isinstance(values, Mapping):
        raise InvalidInputError(
            f"update_state(thread {thread_id!r}) takes a dict of state values, "
            f"got {type(values).__name__}"
        )
    bad = [k for k in values if not isinstance(k, str) or k.startswith("__") or k == PAUSE_KEY]
    if bad:
        raise InvalidInputError(
            f"update_state(thread {thread_id!r}): keys {bad!r} are runtime keys, not state; "
            "pass only the graph's own state keys"
        )
    if as_node is not None and as_node not in plan.nodes:
        raise GraphDefinitionError(
            f"update_state(thread {thread_id!r}): as_node={as_node!r} is not a node of graph "
            f"{plan.name!r} (nodes: {sorted(plan.nodes)})"
        )
    for key, value in values.items():
        codec.check_state_key(key, thread_id)
        serializer.encode(
            value, root=f"update_state[{key!r}]", thread_id=thread_id, types=checkpointer.types
        )
    owner = os.urandom(12).hex()
    stored = await leases.take(checkpointer, thread_id, owner, lease_seconds)
    try:
        _check_owner(stored, thread_id, plan.name)
        assert stored is not None
        changes = _reduced(plan, stored.values, values, as_node, thread_id)
        note = {
            "kind": "update_state",
            "actor": actor,
            "as_node": as_node,
            "keys": sorted(changes),
            "at": _now(),
        }
        return await _put_noted(checkpointer, thread_id, owner, stored, changes, note)
    except BaseException:
        await leases.hand_back(checkpointer, thread_id, owner)
        raise


async def fork_thread(
    checkpointer: Checkpointer,
    graph: str,
    lease_seconds: float,
    thread_id: str,
    checkpoint: int,
    new_thread_id: str | None,
) -> str:
    """Copy checkpoint ``checkpoint`` of ``thread_id`` into a new thread; returns its id.

    The original thread is not touched. The new thread starts from the copied checkpoint
    exactly (values, status, pending interrupts, next nodes) and can be resumed or
    continued like any thread.

    Raises:
        ThreadNotFoundError: no such thread, or it has no checkpoint with that number.
        GraphMismatchError: the thread belongs to another graph.
        InvalidInputError: ``new_thread_id`` is already a thread.
        ResumeConflictError: an execution holds ``new_thread_id``.
    """
    source = await checkpointer.get(thread_id, checkpoint)
    if source is None:
        if await checkpointer.get(thread_id) is None:
            raise ThreadNotFoundError(f"no stored thread {thread_id!r} to fork")
        raise ThreadNotFoundError(
            f"thread {thread_id!r} has no checkpoint {checkpoint} (pruned, or never written); "
            "see graph.get_state_history(thread_id) for the ones it has"
        )
    _check_owner(source, thread_id, graph)
    new_id = new_thread_id if new_thread_id is not None else os.urandom(12).hex()
    owner = os.urandom(12).hex()
    existing = await leases.take(checkpointer, new_id, owner, lease_seconds)
    try:
        if existing is not None:
            raise InvalidInputError(
                f"cannot fork thread {thread_id!r} into {new_id!r}: thread {new_id!r} "
                "already exists; pick another new_thread_id or delete it first"
            )
        note = {
            "kind": "fork",
            "from_thread": thread_id,
            "from_checkpoint": checkpoint,
            "at": _now(),
        }
        # a new thread: its copied pause may be answered again
        await _put_noted(checkpointer, new_id, owner, source, source.values, note, drop="answered")
    except BaseException:
        await leases.hand_back(checkpointer, new_id, owner)
        raise
    return new_id


async def _put_noted(
    checkpointer: Checkpointer,
    thread_id: str,
    owner: str,
    like: StoredCheckpoint,
    changes: Mapping[str, Any],
    note: dict[str, Any],
    *,
    drop: str | None = None,
) -> int:
    """Write ``changes`` as a checkpoint of ``thread_id`` that keeps ``like``'s status,
    pending interrupts, graph and run marker (without ``drop``), with ``note`` appended to
    the run's audit; the lease is released."""
    run = {k: v for k, v in like.run.items() if k != drop}
    run["audit"] = [*(run.get("audit") or ()), note]
    return await checkpointer.put(
        thread_id,
        owner,
        changes=changes,
        status=like.status,
        run=run,
        pending=list(like.pending),
        graph=like.graph,
        release=True,
    )


def _check_owner(stored: StoredCheckpoint | None, thread_id: str, graph: str) -> None:
    if stored is None:
        raise ThreadNotFoundError(f"no stored thread {thread_id!r}")
    if stored.graph != graph:
        raise GraphMismatchError(
            f"thread {thread_id!r} belongs to graph {stored.graph!r}, not to graph {graph!r}; "
            "nothing was changed"
        )


def _reduced(
    plan: GraphPlan,
    old: Mapping[str, Any],
    values: Mapping[str, Any],
    as_node: str | None,
    thread_id: str,
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key, value in values.items():
        reducer = plan.reducers.get(key)
        if reducer is None or key not in old:
            changes[key] = value
            continue
        try:
            changes[key] = reducer(old[key], value)
        except Exception as exc:
            raise ReducerError(
                f"update_state(thread {thread_id!r}): the reducer for state key {key!r} "
                f"raised {type(exc).__name__}: {exc}; nothing was written",
                node=as_node,
                state=dict(old),
            ) from exc
    return changes


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()
