"""``interrupt()``: pause a running graph node and wait for a human's answer.

Each running node has a ``NodeContext`` in a context variable. The n-th ``interrupt()``
call in a node has index n; on resume the node re-runs from its top and every call whose
index has an answer returns it, so a node that asks two questions finishes after two
resumes. A call without an answer records itself as pending and unwinds the node with
``NodeInterrupt``, a ``BaseException`` so that a node's own ``except Exception:`` does not
swallow it; even if a bare ``except:`` does, the pending record makes the runtime pause.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from locus.errors import InterruptOutsideNodeError

__all__ = [
    "Interrupt",
    "InterruptState",
    "NodeContext",
    "NodeInterrupt",
    "current_node_context",
    "emit",
    "interrupt",
    "interrupt_many",
]


@dataclass(frozen=True, slots=True)
class Interrupt:
    """One pending question: a stable ``id`` and the ``payload`` the node asked with.

    ``response_schema`` is the JSON Schema an answer must match, when the node gave one.
    """

    id: str
    payload: Any
    index: int = 0
    response_schema: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class InterruptState:
    """Where a graph is paused: the node (``node_id``) and its pending ``interrupt``."""

    node_id: str
    interrupt: Interrupt


@dataclass(slots=True)
class PendingCall:
    """An unanswered ``interrupt()`` call recorded while its node ran."""

    index: int
    payload: Any
    response_schema: Any = None
    ask: dict[str, Any] | None = None


#: the stored answer that makes ``interrupt()`` raise ``InterruptExpiredError`` (written by
#: ``Inbox.expire_due`` for ``on_timeout=Expire()``); a one-key dict so it stores as JSON.
EXPIRED_ANSWER_KEY = "$locus_expired"


class NodeInterrupt(BaseException):
    """Unwinds a node that called ``interrupt()`` without an answer. Never seen by users."""


@dataclass(slots=True)
class NodeContext:
    """What a running node knows about its run: answers given so far and where to emit.

    Attributes:
        node: the node's name.
        step: the step the node runs in.
        answers: answers by ``interrupt()`` index, from earlier resumes.
        pending: calls that had no answer in this run of the node.
        counter: the index the next ``interrupt()`` call gets.
        emit: where ``emit()`` sends events, or ``None`` when nobody streams.
        extras: per-node slots for runtime features (journals) keyed by feature name.
    """

    node: str
    step: int
    answers: dict[int, Any] = field(default_factory=dict)
    pending: list[PendingCall] = field(default_factory=list)
    counter: int = 0
    emit: Callable[[Any], None] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def next_indices(self, count: int) -> range:
        """Reserve ``count`` consecutive interrupt indices."""
        start = self.counter
        self.counter += count
        return range(start, start + count)


#: ``NodeContext.extras`` key under which a rejected answer or a journal mismatch is
#: recorded, so that the runtime reports it even if the node's ``except Exception:`` caught it.
FATAL_ERROR_KEY = "fatal_error"
#: ``NodeContext.extras`` key of the node's journal (``locus.core.journal``).
JOURNAL_KEY = "journal"

_CURRENT: ContextVar[NodeContext | None] = ContextVar("locus_node_context", default=None)


def current_node_context(feature: str = "this function") -> NodeContext:
    """The running node's context.

    Raises:
        InterruptOutsideNodeError: when no graph node is running in this context.
    """
    ctx = _CURRENT.get()
    if ctx is None:
        raise InterruptOutsideNodeError(
            f"{feature} can only be called while a graph node is running "
            "(inside a function added with StateGraph.add_node and run by graph.execute)"
        )
    return ctx


def interrupt(
    payload: Any = None,
    *,
    response_schema: Any = None,
    deadline: Any = None,
    on_timeout: Any = None,
    answerers: Any = None,
) -> Any:
    """Pause the running node and return the human's answer once the graph is resumed.

    The pause is also an item of ``locus.inbox.Inbox``: anyone allowed can answer it from
    another process, without running the graph.

    Args:
        payload: what to show the human (a question, a draft, options). Returned to the
            caller as ``result.interrupt.interrupt.payload``.
        response_schema: optional pydantic model or type; the answer is validated against
            it on resume and returned as that type.
        deadline: a ``timedelta`` from the pause, or an aware ``datetime``.
        on_timeout: what ``Inbox.expire_due`` does once the deadline passes unanswered: a
            value to resume with, ``Escalate(...)`` or ``Expire()``. ``None``: it stays
            pending.
        answerers: ``Answerers(roles=..., users=..., quorum=..., not_users=...)``: who may
            answer; ``None`` admits anyone.

    Returns:
        The answer given with ``Command(resume=...)`` or ``Inbox.answer`` for this call.

    Raises:
        InterruptOutsideNodeError: when called outside a running graph node.
        InvalidResumeValueError: (on resume) when the answer does not match the schema.
        InterruptExpiredError: (on resume) the interrupt expired (``on_timeout=Expire()``).
        ConfigurationError: a malformed deadline, answerers or on_timeout.
    """
    ctx = _CURRENT.get()
    if ctx is None:
        current_node_context("interrupt()")  # raises the explanatory error
        raise AssertionError("unreachable")
    index = ctx.counter
    ctx.counter = index + 1
    if index in ctx.answers:
        answer = ctx.answers[index]
        if type(answer) is dict and EXPIRED_ANSWER_KEY in answer:
            raise _expired(ctx, answer)
        return _validated(ctx, index, answer, response_schema)
    ask = None
    if deadline is not None or on_timeout is not None or answerers is not None:
        ask = _ask(deadline, on_timeout, answerers)
    ctx.pending.append(PendingCall(index, payload, response_schema, ask))
    raise NodeInterrupt()


def _ask(deadline: Any, on_timeout: Any, answerers: Any) -> dict[str, Any] | None:
    import time

    from locus.checkpoint import serializer
    from locus.inbox.rules import ask_document

    def to_tree(value: Any) -> Any:
        return serializer.to_tree(value, root="interrupt(on_timeout=...)", thread_id="-")

    return ask_document(
        deadline=deadline,
        on_timeout=on_timeout,
        answerers=answerers,
        now=time.time(),
        to_tree=to_tree,
    )


def _expired(ctx: NodeContext, answer: dict[str, Any]) -> Exception:
    from locus.errors import InterruptExpiredError

    info = answer[EXPIRED_ANSWER_KEY]
    return InterruptExpiredError(
        f"interrupt {info.get('interrupt') if isinstance(info, dict) else '?'} of node "
        f"{ctx.node!r} expired unanswered at its deadline (on_timeout=Expire()); catch "
        "InterruptExpiredError in the node to carry on without an answer"
    )


def interrupt_many(payloads: Sequence[Any], *, response_schema: Any = None) -> list[Any]:
    """Ask several questions at once; the node pauses until every one has an answer.

    Each payload takes its own interrupt index and id, so the answers can be given
    together or one at a time (by id). Returns the answers in the payloads' order.
    """
    ctx = current_node_context("interrupt()")
    answers: list[Any] = []
    missing = False
    for payload, index in zip(payloads, ctx.next_indices(len(payloads)), strict=True):
        if index in ctx.answers:
            answers.append(_validated(ctx, index, ctx.answers[index], response_schema))
        else:
            ctx.pending.append(PendingCall(index, payload, response_schema))
            missing = True
    if missing:
        raise NodeInterrupt()
    return answers


def _validated(ctx: NodeContext, index: int, value: Any, schema: Any) -> Any:
    if schema is None:
        return value
    from locus.core.schema import validate_answer

    return validate_answer(ctx.node, index, value, schema)


def emit(event: Any) -> None:
    """Send an event from the running node to whoever streams the graph.

    ``locus.core.events.Event`` instances pass through as they are; anything else is
    wrapped in a ``CustomEvent`` naming the node. Does nothing when nobody streams.

    Raises:
        InterruptOutsideNodeError: when called outside a running graph node.
    """
    ctx = current_node_context("emit()")
    if ctx.emit is None:
        return
    from locus.core.events import CustomEvent, Event

    ctx.emit(event if isinstance(event, Event) else CustomEvent(node=ctx.node, data=event))


def _enter(ctx: NodeContext) -> Any:
    return _CURRENT.set(ctx)


def _leave(token: Any) -> None:
    _CURRENT.reset(token)
