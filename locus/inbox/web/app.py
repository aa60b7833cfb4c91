"""``create_app``: the inbox web app, server-rendered pages plus the JSON API.

Every page works without JavaScript; the small script only counts deadlines down and
keeps the pending count live over server-sent events (``/events``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import StreamingResponse

from locus.checkpoint import Checkpointer
from locus.errors import CheckpointError, LocusError
from locus.inbox import Actor, Inbox, InboxItem
from locus.inbox.present import due_text, item_kind, item_summary, plain, pretty
from locus.inbox.web import api
from locus.inbox.web.auth import LOGIN_COOKIE, SESSION_COOKIE, WebAuth
from locus.inbox.web.errors import status_of
from locus.inbox.web.forms import FormField, fields_of, parse_form
from locus.inbox.web.security import (
    ApiAuthError,
    LoginRequired,
    csrf_binding,
    page_actor,
)

__all__ = ["create_app"]

_HERE = Path(__file__).parent
PageActor = Annotated[Actor, Depends(page_actor)]


def create_app(
    checkpointer: Checkpointer,
    *,
    auth: WebAuth,
    title: str = "locus inbox",
    poll_seconds: float = 2.0,
) -> FastAPI:
    """The inbox web app over ``checkpointer``, to serve with uvicorn or mount in an app.

    Args:
        checkpointer: the store the graphs pause in.
        auth: ``TokenAuth.from_file(path)``, or ``InsecureNoAuth.as_actor()`` for a local
            demo. There is no default: the app is never open by accident.
        title: shown in the page header.
        poll_seconds: how often the live count checks the store.

    Returns:
        A FastAPI app: pages at ``/``, the JSON API under ``/api`` (OpenAPI at
        ``/openapi.json``, browsable at ``/docs``).
    """
    app = FastAPI(title=title, summary="Answer pending locus interrupts.", version="1")
    app.state.checkpointer = checkpointer
    app.state.inbox = Inbox(checkpointer)
    app.state.auth = auth
    app.state.poll_seconds = poll_seconds
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    templates.env.globals.update(title=title, insecure=auth.insecure)
    templates.env.filters.update(pretty=pretty, due=due_text, summary=item_summary)
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")
    app.include_router(api.router)
    _add_error_handlers(app)
    _add_pages(app)
    return app


def _render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    actor: Actor | None = None,
) -> Response:
    auth: WebAuth = request.app.state.auth
    binding, new = csrf_binding(request)
    context = {"actor": actor, "csrf": auth.csrf_token(binding), **context}
    response = request.app.state.templates.TemplateResponse(
        request, name, context, status_code=status
    )
    if new:
        response.set_cookie(LOGIN_COOKIE, binding, httponly=True, samesite="strict")
    return response  # type: ignore[no-any-return]


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _csrf_ok(request: Request, form: dict[str, str]) -> bool:
    auth: WebAuth = request.app.state.auth
    binding = request.cookies.get(SESSION_COOKIE) or request.cookies.get(LOGIN_COOKIE)
    return auth.csrf_ok(binding, form.get("csrf"))


def _url(request: Request, path: str, **query: Any) -> str:
    root = request.scope.get("root_path", "")
    params = {k: v for k, v in query.items() if v not in (None, "", False)}
    return f"{root}{path}" + (f"?{urlencode(params)}" if params else "")


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(_url(request, "/login", next=target), status_code=303)

    @app.exception_handler(ApiAuthError)
    async def api_auth(request: Request, exc: ApiAuthError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        body = {"error": {"code": exc.code, "message": exc.message}}
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where or 'request'}: {first.get('msg', 'invalid request')}"
        body = {"error": {"code": "invalid_request", "message": message, "field": where}}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(LocusError)
    async def locus_error(request: Request, exc: LocusError) -> Response:
        found = status_of(exc)
        if found is None:
            if not isinstance(exc, CheckpointError):
                raise exc
            found = (503, "store_unavailable")
        status, code = found
        if request.url.path.startswith("/api/"):
            body = {"error": {"code": code, "message": str(exc)}}
            return JSONResponse(body, status_code=status)
        return _render(
            request, "error.html", {"status": status, "message": str(exc)}, status=status
        )


def _add_pages(app: FastAPI) -> None:
    @app.get("/login", include_in_schema=False)
    async def login_page(request: Request, next: str = "/") -> Response:
        return _render(request, "login.html", {"next": next, "error": None})

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await _form(request)
        target = form.get("next", "/")
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        if not _csrf_ok(request, form):
            return _render(
                request,
                "login.html",
                {"next": target, "error": "The form expired; retry."},
                status=403,
            )
        auth: WebAuth = request.app.state.auth
        opened = auth.open_session(form.get("token", "").strip())
        if opened is None:
            context = {"next": target, "error": "That token is not valid."}
            return _render(request, "login.html", context, status=401)
        _, cookie = opened
        response = RedirectResponse(_url(request, target), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            max_age=int(auth.session_seconds),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request, actor: PageActor) -> Response:
        form = await _form(request)
        if not _csrf_ok(request, form):
            return _csrf_refused(request, actor)
        response = RedirectResponse(_url(request, "/login"), status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def list_page(
        request: Request,
        actor: PageActor,
        graph: str | None = None,
        node: str | None = None,
        mine: bool = False,
        overdue: bool = False,
        cursor: str | None = None,
        sort: str = "newest",
        answered: str | None = None,
    ) -> Response:
        inbox: Inbox = request.app.state.inbox
        by_deadline = sort == "deadline"
        page = await inbox.pending(
            graph=graph or None,
            node=node or None,
            actor=actor if mine else None,
            overdue=True if overdue else None,
            # soonest deadline first needs every item in hand: one long page, no paging
            limit=_DEADLINE_PAGE if by_deadline else 50,
            cursor=None if by_deadline else cursor or None,
        )
        if by_deadline:
            page = replace(page, items=sorted(page.items, key=_deadline_key), next_cursor=None)
        filters = {
            "graph": graph,
            "node": node,
            "mine": mine,
            "overdue": overdue,
            "sort": "deadline" if by_deadline else None,
        }
        context = {
            "page": page,
            "filters": filters,
            "answered": answered,
            "next_url": _url(request, "/", **filters, cursor=page.next_cursor)
            if page.next_cursor
            else None,
            "url": lambda path, **q: _url(request, path, **q),
        }
        return _render(request, "list.html", context, actor=actor)

    @app.get("/items/{interrupt_id}", response_class=HTMLResponse, include_in_schema=False)
    async def item_page(request: Request, interrupt_id: str, actor: PageActor) -> Response:
        inbox: Inbox = request.app.state.inbox
        item = await inbox.get(interrupt_id)
        return await _item_response(request, item, actor, values={}, errors={})

    @app.post("/items/{interrupt_id}/answer", include_in_schema=False)
    async def answer(request: Request, interrupt_id: str, actor: PageActor) -> Response:
        form = await _form(request)
        if not _csrf_ok(request, form):
            return _csrf_refused(request, actor)
        inbox: Inbox = request.app.state.inbox
        item = await inbox.get(interrupt_id)
        value, errors = _answer_value(item, form)
        values = {k[2:]: v for k, v in form.items() if k.startswith("f.")}
        if errors:
            return await _item_response(
                request, item, actor, values=values, errors=errors, status=422
            )
        try:
            receipt = await inbox.answer(
                interrupt_id,
                value,
                actor=actor,
                reason=form.get("reason") or None,
                digest=form.get("digest") or None,
            )
        except LocusError as exc:
            found = status_of(exc)
            if found is None:
                raise
            return await _item_response(
                request,
                item,
                actor,
                values=values,
                errors={},
                problem=str(exc),
                status=found[0],
            )
        note = "answered" if receipt.complete else f"{receipt.answers_needed} more needed"
        return RedirectResponse(
            _url(request, "/", answered=f"{item_summary(item)} ({note})"), status_code=303
        )

    @app.get("/events", include_in_schema=False)
    async def events(request: Request, actor: PageActor) -> Response:
        return StreamingResponse(
            _count_stream(request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


_DEADLINE_PAGE = 500


def _deadline_key(item: InboxItem) -> tuple[bool, float, float]:
    """Soonest deadline first, items without one last; newest first among equals."""
    due = item.deadline.timestamp() if item.deadline else 0.0
    return (item.deadline is None, due, -item.created_at.timestamp())


async def _item_response(
    request: Request,
    item: InboxItem,
    actor: Actor,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    problem: str | None = None,
    status: int = 200,
) -> Response:
    inbox: Inbox = request.app.state.inbox
    kind = item_kind(item)
    fields: list[FormField] = fields_of(item.response_schema) if item.response_schema else []
    payload = item.payload if isinstance(item.payload, dict) else {"value": item.payload}
    shown = {k: v for k, v in payload.items() if k not in ("type", "question", "draft", "options")}
    context = {
        "item": item,
        "kind": kind,
        "payload": payload,
        "context_items": shown,
        "fields": fields,
        "values": values,
        "errors": errors,
        "problem": problem,
        "audit": await inbox.audit(item.thread_id),
        "arguments_json": pretty(payload.get("arguments", {})) if kind == "tool_approval" else "",
        "url": lambda path, **q: _url(request, path, **q),
        "plain": plain,
    }
    return _render(request, "item.html", context, status=status, actor=actor)


def _answer_value(item: InboxItem, form: dict[str, str]) -> tuple[Any, dict[str, str]]:
    """The answer a submitted item form means, and problems by input name."""
    kind = item_kind(item)
    action = form.get("action", "")
    if kind == "tool_approval":
        if action == "approve":
            return {"approved": True}, {}
        if action == "reject":
            message = form.get("message", "").strip()
            return ({"approved": False, "message": message} if message else {"approved": False}), {}
        if action == "edit":
            try:
                arguments = json.loads(form.get("arguments", ""))
            except json.JSONDecodeError as exc:
                return None, {"arguments": f"Enter valid JSON ({exc.msg})."}
            if not isinstance(arguments, dict):
                return None, {"arguments": "Enter a JSON object of argument names to values."}
            return {"approved": True, "arguments": arguments}, {}
        return None, {"action": "Choose approve, reject or edit."}
    if kind == "form" and item.response_schema:
        fields = fields_of(item.response_schema)
        values = {k[2:]: v for k, v in form.items() if k.startswith("f.")}
        errors: dict[str, str]
        value, errors = parse_form(fields, values)
        return value, {f"f.{k}": v for k, v in errors.items()}
    if kind == "options" and action.startswith("option:"):
        options = item.payload["options"]
        try:
            return options[int(action.removeprefix("option:"))], {}
        except (ValueError, IndexError):
            return None, {"action": "Choose one of the options."}
    text = form.get("answer", "")
    if not text.strip():
        return None, {"answer": "Write an answer."}
    return text, {}


def _csrf_refused(request: Request, actor: Actor) -> Response:
    message = "The form's CSRF token is missing or wrong; reload the page and submit again."
    return _render(
        request, "error.html", {"status": 403, "message": message}, status=403, actor=actor
    )


async def _count_stream(request: Request) -> AsyncIterator[str]:
    last: int | None = None
    while not await request.is_disconnected():
        total = await _pending_total(request.app)
        if total != last:
            last = total
            yield f"event: count\ndata: {json.dumps({'total': total})}\n\n"
        await asyncio.sleep(request.app.state.poll_seconds)


async def _pending_total(app: FastAPI) -> int:
    """The pending count, read at most once per poll interval however many pages listen."""
    cached: tuple[float, int] | None = getattr(app.state, "pending_total", None)
    now = time.monotonic()
    if cached is not None and now - cached[0] < app.state.poll_seconds:
        return cached[1]
    inbox: Inbox = app.state.inbox
    page = await inbox.pending(limit=500)
    total = page.total if page.total is not None else len(page.items)
    app.state.pending_total = (now, total)
    return total
