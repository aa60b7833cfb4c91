"""A stored thread's answers and audit entries, as a durable execution needs them.

``stored_answers`` turns the complete answers the inbox stored for a pause into the
``Command`` that resumes it; ``check_direct`` holds a direct ``Command(resume=...)`` to
the interrupt's answerers; ``resume_entries`` are the audit entries written with the
resume's first checkpoint (the pause's own are written by the checkpointer's ``put``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from locus.checkpoint.audit import AuditDraft
from locus.core.command import NO_ANSWER, Command
from locus.errors import AnswerNotAllowedError

if TYPE_CHECKING:
    from locus.checkpoint import Checkpointer, StoredCheckpoint
    from locus.multiagent.run_state import RunState

__all__ = [
    "check_direct",
    "refuse_unallowed",
    "resume_entries",
    "stored_answers",
]


async def stored_answers(
    checkpointer: Checkpointer, thread_id: str, stored: StoredCheckpoint, owner: str
) -> Command | None:
    """The resume the inbox's complete answers for this pause make, or ``None``; ``owner``
    holds the thread's lease."""
    from locus.inbox.state import answers_of, decode_value

    found = answers_of(await checkpointer.read_audit(thread_id, held_by=owner), stored.seq)
    if not found:
        return None
    _log_stored(thread_id, stored, found)
    return Command(
        resume_by_id={
            iid: decode_value(
                tree,
                thread_id=thread_id,
                types=checkpointer.types,
                what=f"the stored answer to interrupt {iid!r}",
            )
            for iid, (tree, _) in found.items()
        }
    )


def _log_stored(
    thread_id: str, stored: StoredCheckpoint, found: dict[str, tuple[Any, dict[str, Any] | None]]
) -> None:
    """One INFO line per stored answer the resume uses, naming the actor who completed it."""
    from locus.observe.logs import actor_fields, describe_actor, fields, graph_log

    if not graph_log.isEnabledFor(logging.INFO):
        return
    for iid, (_, actor) in found.items():
        who = actor_fields(actor)
        graph_log.info(
            "thread %r resumes interrupt %s with the answer stored%s",
            thread_id,
            iid,
            describe_actor(who),
            extra={**fields(graph=stored.graph, thread_id=thread_id, interrupt_id=iid), **who},
        )


async def check_direct(
    checkpointer: Checkpointer,
    thread_id: str,
    stored: StoredCheckpoint,
    rs: RunState,
    command: Command,
    owner: str,
) -> None:
    """Refuse a direct answer to a stored interrupt whose answerers (as escalated since the
    pause) do not admit its actor; ``owner`` holds the thread's lease.

    Raises:
        AnswerNotAllowedError: as ``refuse_unallowed``.
    """
    if not any(p.ask is not None and p.ask.get("answerers") for p in rs.pending):
        return
    if not any(p.ask is not None and (p.ask.get("on_timeout") or {}) for p in rs.pending):
        refuse_unallowed(rs, command, thread_id)
        return
    from locus.inbox.state import item_states

    states = item_states(await checkpointer.read_audit(thread_id, held_by=owner), stored.seq)
    refuse_unallowed(rs, command, thread_id, {k: v.escalations for k, v in states.items()})


def refuse_unallowed(
    rs: RunState,
    command: Command,
    thread_id: str | None,
    escalations: dict[str, list[tuple[float, dict[str, Any]]]] | None = None,
) -> None:
    """Refuse ``command``'s answers to interrupts whose answerers do not admit its actor.

    Args:
        rs: the paused run.
        command: the resume.
        thread_id: the stored thread, or ``None`` for a snapshot.
        escalations: per interrupt id, the escalations applied since the pause.

    Raises:
        AnswerNotAllowedError: the actor is missing, not allowed, or the interrupt needs
            more than one answer (a quorum is gathered with ``Inbox.answer``).
    """
    ids = set(command.resume_by_id or ()) or {p.id for p in rs.pending}
    for p in rs.pending:
        if p.ask is None or p.id not in ids or not p.ask.get("answerers"):
            continue
        from locus.inbox.rules import Ask

        ask = Ask.load(p.ask)
        for at, step in (escalations or {}).get(p.id, ()):
            ask = ask.escalated(step, at)
        if ask.answerers is None:
            continue
        where = f"interrupt {p.id!r} of node {p.node!r}" + (
            f" of thread {thread_id!r}" if thread_id is not None else ""
        )
        why = ask.answerers.why_not(command.actor)
        if why is None and ask.answerers.quorum > 1:
            why = f"it needs {ask.answerers.quorum} distinct answers; gather them with Inbox.answer"
        if why is not None:
            raise AnswerNotAllowedError(f"{where} may not be answered: {why}")


def resume_entries(
    rs: RunState,
    command: Command,
    execution: str,
    from_store: bool,
    answer_trees: Mapping[str | None, Any],
) -> list[AuditDraft]:
    """``answered`` entries for a direct resume's answers, then ``resumed``.

    Args:
        from_store: the answers come from the store, whose ``answered`` entries were
            written when they were given.
        answer_trees: the direct answers, already encoded, by interrupt id (``None`` for
            ``Command.resume``).
    """
    now = time.time()
    actor = None if command.actor is None else command.actor.to_json()
    answered: list[str] = []
    if command.resume_by_id:
        answered = list(command.resume_by_id)
    elif command.resume is not NO_ANSWER and rs.pending:
        answered = [rs.pending[0].id]
    nodes = {p.id: p.node for p in rs.pending}
    drafts: list[AuditDraft] = []
    if not from_store:
        for iid in answered:
            drafts.append(
                AuditDraft(
                    kind="answered",
                    at=now,
                    interrupt_id=iid,
                    node=nodes.get(iid),
                    actor=actor,
                    data={
                        "value": answer_trees[iid if command.resume_by_id else None],
                        "direct": True,
                    },
                )
            )
    drafts.append(
        AuditDraft(
            kind="resumed",
            at=now,
            actor=actor,
            data={"answered": sorted(answered), "execution": execution, "stored": from_store},
        )
    )
    return drafts
