"""``Inbox``: pending interrupts as durable work items, answered without running the graph.

An answer is validated (schema, answerers, digest), then written as an ``answered`` entry
of the thread's audit trail, atomically with the thread's ready mark when it completes
the item. ``graph.execute(None, thread_id=...)`` (or a worker) later resumes the thread
with the stored answers. Every write checks, in its own transaction, that nothing changed
since it read (the trail's last entry, the pause, the lease), and otherwise reads again:
two processes answering one item at once record exactly one answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from locus.checkpoint import serializer
from locus.checkpoint.audit import (
    AuditCheck,
    AuditDraft,
    AuditEntry,
    AuditRow,
    chain,
    entry_of,
    verify_chain,
)
from locus.checkpoint.base import Checkpointer
from locus.checkpoint.records import PendingItem
from locus.core.interrupt import EXPIRED_ANSWER_KEY
from locus.errors import (
    AlreadyAnsweredError,
    AnswerNotAllowedError,
    CheckpointUsageError,
    InterruptExpiredError,
    InvalidResumeValueError,
    ResumeConflictError,
    StaleAnswerError,
    UnknownInterruptError,
)
from locus.inbox.rules import Actor, Answerers, Ask
from locus.inbox.state import ItemState, item_states, payload_digest
from locus.inbox.validate import schema_problem
from locus.observe.logs import actor_fields, describe_actor, fields, inbox_log

__all__ = ["AnswerReceipt", "Inbox", "InboxItem", "InboxPage", "TimeoutAction"]

#: attempts at a write that keeps meeting a concurrent writer before giving up
_ATTEMPTS = 20


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A pending interrupt as a work item.

    Attributes:
        id: the interrupt id (answer with it).
        thread_id, graph, node: where it waits.
        payload: what the node asked with.
        response_schema: the JSON Schema an answer must match, or ``None``.
        created_at: when the thread paused (UTC).
        deadline: when it times out (UTC), or ``None``.
        answerers: who may answer (after escalations), or ``None`` for anyone.
        digest: sha256 of the canonical payload; pass it to ``answer`` to refuse an answer
            given against a payload that changed since.
        answers: the answers so far that did not yet complete it (quorum): ``{"actor":
            id, "at": datetime}`` each.
        checkpoint: the checkpoint holding the pause.
    """

    id: str
    thread_id: str
    graph: str
    node: str
    payload: Any
    response_schema: dict[str, Any] | None
    created_at: dt.datetime
    deadline: dt.datetime | None
    answerers: Answerers | None
    digest: str
    answers: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: int = 0


@dataclass(frozen=True, slots=True)
class InboxPage:
    """A page of ``Inbox.pending``; pass ``next_cursor`` for the next one."""

    items: list[InboxItem]
    next_cursor: str | None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class AnswerReceipt:
    """What ``answer`` stored: ``complete`` once the item's answer counts (quorum reached),
    else ``answers_needed`` more distinct allowed actors must answer alike."""

    item: InboxItem
    complete: bool
    answers_needed: int


@dataclass(frozen=True, slots=True)
class TimeoutAction:
    """One timeout ``expire_due`` applied: ``kind`` is ``"timed_out"`` (resumed with a
    value), ``"escalated"`` or ``"expired"``."""

    interrupt_id: str
    thread_id: str
    kind: str


class Inbox:
    """Pending interrupts across threads and graphs of one checkpointer.

    Args:
        checkpointer: the store the graphs run on (any backend).
    """

    def __init__(self, checkpointer: Checkpointer) -> None:
        self.checkpointer = checkpointer

    # --- reading -------------------------------------------------------------------------

    async def pending(
        self,
        graph: str | None = None,
        node: str | None = None,
        actor: Actor | None = None,
        overdue: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
        *,
        now: float | None = None,
    ) -> InboxPage:
        """Unanswered items, newest pause first, filtered.

        Args:
            graph, node: only items of this graph / node.
            actor: only items this actor may answer (and has not answered yet).
            overdue: ``True`` only items past their deadline; ``False`` only the others.
            limit: items per page.
            cursor: ``next_cursor`` of the previous page.

        Raises:
            CheckpointUsageError: a bad limit or cursor.
        """
        now = time.time() if now is None else now
        items: list[InboxItem] = []
        scan = cursor
        while len(items) < limit:
            page = await self.checkpointer.list_pending(limit=max(limit, 50), cursor=scan)
            rows = [r for r in page.items if graph in (None, r.graph) and node in (None, r.node)]
            ready = await self.checkpointer.ready_among([r.thread_id for r in rows])
            for row in rows:
                if row.thread_id not in ready and not _may_have_history(row.ask):
                    item = _item(row, Ask.load(row.ask), ItemState())
                else:
                    trail = await self.checkpointer.read_audit(row.thread_id)
                    item_or_none = self._current(row, trail)
                    if item_or_none is None:
                        continue
                    item = item_or_none
                if actor is not None and _refusal(item, actor) is not None:
                    continue
                if overdue is not None and overdue != _overdue(item, now):
                    continue
                items.append(item)
                if len(items) == limit:
                    break
            if len(items) == limit:
                last = row  # the next page restarts just below the last row used
                return InboxPage(items, f"p{last.position}")
            if page.next_cursor is None:
                return InboxPage(items, None)
            scan = page.next_cursor
        return InboxPage(items, None)

    async def get(self, interrupt_id: str) -> InboxItem:
        """The pending item ``interrupt_id``.

        Raises:
            UnknownInterruptError: no pending interrupt has this id (never asked, answered
                and resumed, or its thread deleted).
        """
        row, trail = await self._row(interrupt_id)
        item = self._current(row, trail)
        if item is None:
            raise UnknownInterruptError(
                f"interrupt {interrupt_id!r} of thread {row.thread_id!r} is answered and waits "
                "to be resumed; it is no longer pending"
            )
        return item

    async def audit(self, thread_id: str) -> list[AuditEntry]:
        """The thread's audit trail, oldest first (empty for a thread never paused)."""
        return [entry_of(row) for row in await self.checkpointer.read_audit(thread_id)]

    async def verify_audit(self, thread_id: str) -> AuditCheck:
        """Check the thread's trail hash chain: a changed, removed or reordered entry is a
        problem named in the result."""
        return verify_chain(thread_id, await self.checkpointer.read_audit(thread_id))

    async def feed(self, after: int = 0, limit: int = 100) -> list[AuditEntry]:
        """Every audit entry of the store with ``position > after``, in write order."""
        return [entry_of(row) for row in await self.checkpointer.audit_feed(after, limit)]

    # --- answering -----------------------------------------------------------------------

    async def answer(
        self,
        interrupt_id: str,
        value: Any,
        *,
        actor: Actor,
        reason: str | None = None,
        digest: str | None = None,
    ) -> AnswerReceipt:
        """Store ``actor``'s answer to ``interrupt_id`` durably, without running the graph.

        Once the item's answer is complete (its quorum reached) the thread is ready:
        ``graph.execute(None, thread_id=...)`` resumes it with the stored answers.

        Raises:
            UnknownInterruptError: no such pending interrupt.
            AnswerNotAllowedError: ``actor`` is not among the answerers, or excluded.
            AlreadyAnsweredError: the item is answered already (names who and when), or
                this actor already gave one of its quorum's answers.
            StaleAnswerError: ``digest`` does not match the payload.
            InvalidResumeValueError: ``value`` breaks the response schema (names the field).
            InterruptExpiredError: the item expired at its deadline.
            ResumeConflictError: an execution holds the thread (it is being resumed).
        """
        if not isinstance(actor, Actor):
            raise CheckpointUsageError(f"answer(actor=...) takes an Actor, got {actor!r}")
        cp = self.checkpointer
        for _ in range(_ATTEMPTS):
            row, trail = await self._row(interrupt_id)
            state = item_states(trail, row.seq).get(interrupt_id, ItemState())
            ask = _effective(row, state)
            item = _item(row, ask, state)
            where = f"interrupt {interrupt_id!r} of thread {row.thread_id!r}"
            if state.complete is not None:
                kind, who, _, at = state.complete
                if kind == "expired":
                    raise InterruptExpiredError(f"{where} expired at its deadline")
                raise AlreadyAnsweredError(
                    f"{where} was already answered by {_who(who)} at {_iso(at)}; "
                    f"{actor.id!r}'s answer was not recorded"
                )
            refusal: Exception | None = None
            if digest is not None and digest != item.digest:
                refusal = StaleAnswerError(
                    f"{where} changed since {actor.id!r} saw it (digest {digest[:12]}... is "
                    f"not {item.digest[:12]}...); read it again with inbox.get and re-answer"
                )
            elif (why := _refusal(item, actor)) is not None:
                if why.startswith("already"):
                    refusal = AlreadyAnsweredError(
                        f"{where}: {why}; another allowed actor must give the next answer"
                    )
                else:
                    refusal = AnswerNotAllowedError(f"{where} may not be answered: {why}")
            elif (problem := schema_problem(_json_view(value), row.response_schema)) is not None:
                refusal = InvalidResumeValueError(
                    f"{where}: {problem}; actor {actor.id!r}'s answer was not recorded"
                )
            now = time.time()
            if refusal is not None:
                draft = _draft(
                    "refused",
                    now,
                    row,
                    actor,
                    {"why": str(refusal), "error": type(refusal).__name__},
                )
                if await self._append(row, trail, [draft], None):
                    _log_answer(row, actor, f"refused ({type(refusal).__name__})")
                    raise refusal
                continue
            tree = serializer.to_tree(
                value, root="answer", about=where, thread_id=row.thread_id, types=cp.types
            )
            quorum = ask.answerers.quorum if ask.answerers is not None else 1
            agreeing = 1 + sum(1 for _, v, _ in state.partial if v == tree)
            complete = agreeing >= quorum
            data = {"value": tree, "complete": complete, "reason": reason, "digest": item.digest}
            draft = _draft("answered", now, row, actor, data)
            if await self._append(row, trail, [draft], row.graph if complete else None):
                _log_answer(
                    row,
                    actor,
                    "stored; the thread is ready to resume"
                    if complete
                    else f"stored; {quorum - agreeing} more needed",
                )
                answers = [*item.answers, {"actor": actor.id, "at": _utc(now)}]
                return AnswerReceipt(
                    item=_replace_answers(item, [] if complete else answers),
                    complete=complete,
                    answers_needed=0 if complete else quorum - agreeing,
                )
        raise ResumeConflictError(
            f"interrupt {interrupt_id!r} kept changing while {actor.id!r} answered it, or an "
            f"execution holds its thread ({_ATTEMPTS} attempts); try again"
        )

    async def expire_due(self, now: float | dt.datetime | None = None) -> list[TimeoutAction]:
        """Apply ``on_timeout`` to every pending item whose deadline has passed, once each.

        Safe from many processes at once: each timeout is written with a check that the
        item did not change since it was read, so exactly one caller applies it.

        Returns:
            What this call applied.
        """
        at = _epoch(now)
        done: list[TimeoutAction] = []
        cursor: str | None = None
        while True:
            page = await self.checkpointer.list_pending(limit=200, cursor=cursor)
            for row in page.items:
                first = Ask.load(row.ask).deadline if row.ask is not None else None
                if first is None or first > at:
                    # Not due: an escalation only ever moves the deadline later, so the
                    # trail (read for an item whose first deadline passed) cannot say more.
                    continue
                action = await self._time_out(row, at)
                if action is not None:
                    done.append(action)
            cursor = page.next_cursor
            if cursor is None:
                return done

    # --- internals -------------------------------------------------------------------------

    async def _time_out(self, row: PendingItem, now: float) -> TimeoutAction | None:
        for _ in range(_ATTEMPTS):
            trail = await self.checkpointer.read_audit(row.thread_id)
            state = item_states(trail, row.seq).get(row.interrupt_id, ItemState())
            ask = _effective(row, state)
            if state.complete is not None or ask.deadline is None or ask.deadline > now:
                return None
            rule = ask.on_timeout
            if rule is None:
                return None
            kind = rule.get("kind")
            ready: str | None = row.graph
            if kind == "escalate":
                data: dict[str, Any] = {"step": rule}
                kind = "escalated"
                ready = None
            elif kind == "expire":
                data = {"value": {EXPIRED_ANSWER_KEY: {"interrupt": row.interrupt_id}}}
                kind = "expired"
            else:
                data = {"value": rule.get("value")}
                kind = "timed_out"
            data["deadline"] = ask.deadline
            draft = _draft(kind, now, row, None, data)
            if await self._append(row, trail, [draft], ready):
                return TimeoutAction(row.interrupt_id, row.thread_id, kind)
            if await self.checkpointer.find_pending(row.interrupt_id) is None:
                return None  # resumed meanwhile
        return None

    async def _append(
        self, row: PendingItem, trail: Sequence[Any], drafts: list[AuditDraft], ready: str | None
    ) -> bool:
        head = (trail[-1].seq, trail[-1].hash) if trail else (0, "")
        rows = chain(row.thread_id, head[0], head[1], drafts)
        if await self.checkpointer.append_audit(
            row.thread_id, rows, checkpoint=row.seq, ready_graph=ready
        ):
            return True
        if await self.checkpointer.find_pending(row.interrupt_id) is None:
            # the pause was resumed (or the thread deleted) while we decided
            raise UnknownInterruptError(
                f"interrupt {row.interrupt_id!r} of thread {row.thread_id!r} is no longer "
                "pending: its thread was resumed meanwhile"
            )
        # another writer came first, or an execution holds the thread: read again shortly
        await asyncio.sleep(0.005)
        return False

    async def _row(self, interrupt_id: str) -> tuple[PendingItem, list[AuditRow]]:
        """The item's inbox row and its thread's audit trail, read together."""
        found = await self.checkpointer.find_pending_with_trail(interrupt_id)
        if found is None:
            raise UnknownInterruptError(
                f"interrupt {interrupt_id!r} is not pending in this store (never asked, "
                "already answered and resumed, or its thread was deleted)"
            )
        return found

    def _current(self, row: PendingItem, trail: list[AuditRow]) -> InboxItem | None:
        state = item_states(trail, row.seq).get(row.interrupt_id, ItemState())
        if state.complete is not None:
            return None
        return _item(row, _effective(row, state), state)


def _may_have_history(ask: dict[str, Any] | None) -> bool:
    """Whether the trail may hold something that changes an unanswered item: partial
    answers (a quorum above 1) or escalations. Without them only a complete answer could,
    and that marks the thread ready."""
    if not ask:
        return False
    answerers = ask.get("answerers") or {}
    rule = ask.get("on_timeout") or {}
    return bool(answerers.get("quorum", 1) > 1 or rule.get("kind") == "escalate")


def _effective(row: PendingItem, state: ItemState) -> Ask:
    ask = Ask.load(row.ask)
    for at, step in state.escalations:
        ask = ask.escalated(step, at)
    return ask


def _item(row: PendingItem, ask: Ask, state: ItemState) -> InboxItem:
    return InboxItem(
        id=row.interrupt_id,
        thread_id=row.thread_id,
        graph=row.graph,
        node=row.node,
        payload=row.payload,
        response_schema=row.response_schema,
        created_at=row.created_at,
        deadline=None if ask.deadline is None else _utc(ask.deadline),
        answerers=ask.answerers,
        digest=payload_digest(serializer.to_tree(row.payload, root="payload", thread_id="-")),
        answers=[{"actor": (who or {}).get("id"), "at": _utc(at)} for who, _, at in state.partial],
        checkpoint=row.seq,
    )


def _replace_answers(item: InboxItem, answers: list[dict[str, Any]]) -> InboxItem:
    from dataclasses import replace

    return replace(item, answers=answers)


def _log_answer(row: PendingItem, actor: Actor, outcome: str) -> None:
    """One INFO line naming the actor and what became of the answer (never its value)."""
    if not inbox_log.isEnabledFor(logging.INFO):
        return
    who = actor_fields(actor)
    inbox_log.info(
        "answer%s to interrupt %s of thread %r at node %r %s",
        describe_actor(who),
        row.interrupt_id,
        row.thread_id,
        row.node,
        outcome,
        extra={
            **fields(
                graph=row.graph,
                thread_id=row.thread_id,
                node=row.node,
                interrupt_id=row.interrupt_id,
            ),
            **who,
        },
    )


def _refusal(item: InboxItem, actor: Actor) -> str | None:
    if item.answerers is None:
        return None
    why = item.answerers.why_not(actor)
    if why is not None:
        return why
    if any(a["actor"] == actor.id for a in item.answers):
        return f"already answered by {actor.id!r}, and it needs {item.answerers.quorum} distinct"
    return None


def _draft(
    kind: str, now: float, row: PendingItem, actor: Actor | None, data: dict[str, Any]
) -> AuditDraft:
    return AuditDraft(
        kind=kind,
        at=now,
        interrupt_id=row.interrupt_id,
        node=row.node,
        actor=None if actor is None else actor.to_json(),
        data={"checkpoint": row.seq, **data},
    )


def _overdue(item: InboxItem, now: float) -> bool:
    return item.deadline is not None and item.deadline.timestamp() <= now


def _json_view(value: Any) -> Any:
    """The value as JSON sees it (a pydantic model as its dict), for the schema check."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return value


def _who(actor: dict[str, Any] | None) -> str:
    if not actor:
        return "its deadline (on_timeout)"
    return repr(actor.get("id"))


def _epoch(now: float | dt.datetime | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, dt.datetime):
        return now.timestamp()
    return float(now)


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _iso(seconds: float) -> str:
    return _utc(seconds).isoformat(timespec="seconds")
