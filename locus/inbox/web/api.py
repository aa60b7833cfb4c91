"""The JSON API: list, read and answer pending interrupts; read a thread and its audit trail.

Errors are JSON ``{"error": {"code", "message"}}`` with the library's message:
401 no or wrong credentials, 403 not allowed to answer (or a cookie write without its CSRF
token), 404 unknown interrupt or thread, 409 already answered, stale or expired, 422 an
invalid value (the message names the field).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from locus.errors import ThreadNotFoundError
from locus.inbox import Actor, Inbox
from locus.inbox.present import audit_json, item_json, plain
from locus.inbox.web.security import api_actor

__all__ = ["AnswerRequest", "router"]

router = APIRouter(prefix="/api", tags=["inbox"])

ApiActor = Annotated[Actor, Depends(api_actor)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No credentials, or a token that is not in the tokens file"},
    403: {"description": "The actor may not answer, or a cookie write lacks its CSRF token"},
    404: {"description": "No such pending interrupt or thread"},
    409: {"description": "Already answered, answered against a stale payload, or expired"},
    422: {"description": "The value does not match the response schema; the field is named"},
}


class AnswerRequest(BaseModel):
    """An answer to one interrupt."""

    value: Any = Field(description="The answer; it must match the item's response_schema.")
    reason: str | None = Field(default=None, description="Why, kept in the audit trail.")
    digest: str | None = Field(
        default=None,
        description="The item's digest as you saw it; a changed payload then answers 409.",
    )


def _inbox(request: Request) -> Inbox:
    inbox: Inbox = request.app.state.inbox
    return inbox


@router.get("/interrupts", responses={401: _ERRORS[401]})
async def list_interrupts(
    request: Request,
    actor: ApiActor,
    graph: str | None = None,
    node: str | None = None,
    mine: bool = Query(False, description="only items this actor may answer"),
    overdue: bool | None = None,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> dict[str, Any]:
    """Pending interrupts, soonest deadline then newest first, one page at a time."""
    page = await _inbox(request).pending(
        graph=graph,
        node=node,
        actor=actor if mine else None,
        overdue=overdue,
        limit=limit,
        cursor=cursor,
    )
    return {
        "items": [item_json(i) for i in page.items],
        "next_cursor": page.next_cursor,
        "total": page.total,
    }


@router.get("/interrupts/{interrupt_id}", responses={k: _ERRORS[k] for k in (401, 404)})
async def get_interrupt(request: Request, interrupt_id: str, actor: ApiActor) -> dict[str, Any]:
    """One pending interrupt."""
    return item_json(await _inbox(request).get(interrupt_id))


@router.post("/interrupts/{interrupt_id}/answer", responses=_ERRORS)
async def answer_interrupt(
    request: Request, interrupt_id: str, body: AnswerRequest, actor: ApiActor
) -> dict[str, Any]:
    """Answer as the authenticated actor; ``complete`` says whether the quorum is met."""
    receipt = await _inbox(request).answer(
        interrupt_id, body.value, actor=actor, reason=body.reason, digest=body.digest
    )
    return {
        "interrupt_id": interrupt_id,
        "thread_id": receipt.item.thread_id,
        "complete": receipt.complete,
        "answers_needed": receipt.answers_needed,
    }


@router.get("/threads/{thread_id}", responses={k: _ERRORS[k] for k in (401, 404)})
async def get_thread(request: Request, thread_id: str, actor: ApiActor) -> dict[str, Any]:
    """A thread's latest checkpoint: graph, status, step and its pending interrupts."""
    stored = await request.app.state.checkpointer.get(thread_id)
    if stored is None:
        raise ThreadNotFoundError(f"no stored thread {thread_id!r}; check the id")
    return {
        "thread_id": stored.thread_id,
        "graph": stored.graph,
        "status": stored.status,
        "seq": stored.seq,
        "updated_at": stored.created_at.isoformat(),
        "pending": plain(stored.pending),
    }


@router.get("/threads/{thread_id}/audit", responses={k: _ERRORS[k] for k in (401, 404)})
async def get_audit(request: Request, thread_id: str, actor: ApiActor) -> dict[str, Any]:
    """A thread's audit trail in order, and whether its hash chain verifies."""
    inbox = _inbox(request)
    entries = await inbox.audit(thread_id)
    if not entries and await request.app.state.checkpointer.get(thread_id) is None:
        raise ThreadNotFoundError(f"no stored thread {thread_id!r}; check the id")
    check = await inbox.verify_audit(thread_id)
    return {
        "thread_id": thread_id,
        "entries": [audit_json(e) for e in entries],
        "verified": check.ok,
        "problems": plain(check.problems),
    }
