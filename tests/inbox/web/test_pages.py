"""The server-rendered pages through the ASGI app: login, CSRF, list, item forms, SSE."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
from conftest import BASE, csrf_of, item_of, log_in
from support import triage_graph

from locus.checkpoint import Checkpointer
from locus.inbox import Actor, Inbox
from locus.inbox.tokens import add_token
from locus.inbox.web import InsecureNoAuth, TokenAuth, create_app


async def test_a_page_without_a_session_redirects_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/?graph=support")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2F%3Fgraph%3Dsupport"


async def test_login_with_a_wrong_token_is_refused(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    response = await client.post("/login", data={"csrf": csrf_of(page.text), "token": "lct_x"})
    assert response.status_code == 401
    assert "locus_session" not in response.cookies
    assert (await client.get("/")).status_code == 303


async def test_login_without_the_csrf_field_is_refused(
    client: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    await client.get("/login")
    response = await client.post("/login", data={"token": tokens["ana"]})
    assert response.status_code == 403
    assert (await client.get("/")).status_code == 303


async def test_login_never_redirects_off_site(
    client: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "token": tokens["ana"], "next": "//evil.example/"},
    )
    assert response.headers["location"] == "/"


async def test_list_page_shows_every_pending_item_and_filters_by_graph(
    client: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    await log_in(client, tokens["ana"])
    page = await client.get("/")
    assert page.status_code == 200
    for text in ("Triage ticket T-1", "Run tool issue_refund?", "Which plan?"):
        assert text in page.text
    assert 'data-total="3"' in page.text
    filtered = await client.get("/?graph=support")
    assert "Triage ticket T-1" in filtered.text
    assert "Which plan?" not in filtered.text


async def test_assigned_to_me_hides_items_the_actor_may_not_answer(
    client: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    await log_in(client, tokens["ana"])
    page = await client.get("/?mine=true")
    assert "Which plan?" in page.text
    assert "issue_refund" not in page.text


async def test_item_page_draws_a_form_from_the_response_schema(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    await log_in(client, tokens["ana"])
    item = await item_of(store, "support")
    page = await client.get(f"/items/{item.id}")
    html = page.text
    assert '<select id="f.priority" name="f.priority"' in html
    assert ">low</option>" in html and ">high</option>" in html
    assert 'name="f.minutes"' in html and "Estimated handling time" in html
    assert "<legend>Customer" in html and 'name="f.customer.name"' in html
    assert 'type="checkbox" id="f.customer.vip"' in html
    assert "Thanks for writing in." in html  # the draft
    assert "data-deadline" in html  # the countdown
    assert "<td>asked</td>" in html  # the audit trail


async def _submit(client: httpx.AsyncClient, url: str, form: dict[str, str]) -> httpx.Response:
    page = await client.get(url)
    data = {"csrf": csrf_of(page.text), **form}
    digest = re.search(r'name="digest" value="([^"]+)"', page.text)
    if digest:
        data["digest"] = digest.group(1)
    return await client.post(f"{url}/answer", data=data)


async def test_an_invalid_form_shows_the_error_next_to_its_field_and_records_nothing(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    await log_in(client, tokens["ana"])
    item = await item_of(store, "support")
    response = await _submit(
        client,
        f"/items/{item.id}",
        {"f.priority": "1", "f.minutes": "nine", "f.note": "ok!", "f.customer.name": "Bo"},
    )
    assert response.status_code == 422
    field = re.search(r'<div class="field invalid">(.*?)</div>', response.text, re.S)
    assert field and 'name="f.minutes"' in field.group(1)
    assert "Enter a whole number." in field.group(1)
    assert 'value="nine"' in response.text  # what was typed stays
    assert [e.kind for e in await Inbox(store).audit(item.thread_id)] == ["asked"]


async def test_a_valid_form_answers_as_the_session_actor_and_the_thread_finishes(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    await log_in(client, tokens["ana"])
    item = await item_of(store, "support")
    response = await _submit(
        client,
        f"/items/{item.id}",
        {
            "f.priority": "1",
            "f.minutes": "30",
            "f.note": "call back",
            "f.customer.name": "Bo",
            "f.customer.vip": "on",
            "actor": "mallory",
        },
    )
    assert response.status_code == 303
    listing = await client.get(response.headers["location"])
    assert "Done: Triage ticket T-1 (answered)" in listing.text
    assert "Triage ticket T-1</a>" not in listing.text
    answered = [e for e in await Inbox(store).audit(item.thread_id) if e.kind == "answered"]
    assert answered[0].actor.id == "ana"
    done = await triage_graph(store).execute(None, thread_id=item.thread_id)
    assert done.final_state["triage"] == {
        "priority": "high",
        "minutes": 30,
        "note": "call back",
        "customer": {"name": "Bo", "vip": True},
    }


async def test_a_form_post_without_its_csrf_token_is_refused(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    await log_in(client, tokens["ana"])
    item = await item_of(store, "choices")
    response = await client.post(f"/items/{item.id}/answer", data={"action": "option:1"})
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert [e.kind for e in await Inbox(store).audit(item.thread_id)] == ["asked"]


async def test_options_are_buttons_that_answer_with_the_option(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    await log_in(client, tokens["ana"])
    item = await item_of(store, "choices")
    page = await client.get(f"/items/{item.id}")
    assert '<button type="submit" name="action" value="option:1">pro</button>' in page.text
    response = await _submit(
        client, f"/items/{item.id}", {"action": "option:1", "reason": "they asked for it"}
    )
    assert response.status_code == 303
    trail = await Inbox(store).audit(item.thread_id)
    assert trail[-1].kind == "answered"
    assert trail[-1].data["value"] == "pro"
    assert trail[-1].data["reason"] == "they asked for it"


async def test_tool_approval_shows_the_tool_and_rejects_with_a_message(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    await log_in(client, tokens["fin"])
    item = await item_of(store, "refunds")
    page = await client.get(f"/items/{item.id}")
    assert "issue_refund" in page.text and "A-1" in page.text
    for action in ("approve", "reject", "edit"):
        assert f'name="action" value="{action}"' in page.text
    response = await _submit(
        client, f"/items/{item.id}", {"action": "reject", "message": "Too large"}
    )
    assert response.status_code == 303
    trail = await Inbox(store).audit(item.thread_id)
    assert trail[-1].data["value"] == {"approved": False, "message": "Too large"}


async def test_tool_approval_with_edited_arguments(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    await log_in(client, tokens["fin"])
    item = await item_of(store, "refunds")
    bad = await _submit(client, f"/items/{item.id}", {"action": "edit", "arguments": "{oops"})
    assert bad.status_code == 422
    assert "Enter valid JSON" in bad.text
    arguments = json.dumps({"order": "A-1", "amount": 60.0})
    good = await _submit(client, f"/items/{item.id}", {"action": "edit", "arguments": arguments})
    assert good.status_code == 303
    trail = await Inbox(store).audit(item.thread_id)
    assert trail[-1].data["value"] == {"approved": True, "arguments": json.loads(arguments)}


async def test_an_actor_without_the_role_gets_a_403_page_and_the_item_stays(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    await log_in(client, tokens["ana"])
    item = await item_of(store, "refunds")
    response = await _submit(client, f"/items/{item.id}", {"action": "approve"})
    assert response.status_code == 403
    assert "may not be answered" in response.text
    assert (await Inbox(store).get(item.id)).id == item.id


async def test_answering_an_item_twice_shows_409(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    await log_in(client, tokens["ana"])
    item = await item_of(store, "choices")
    page = await client.get(f"/items/{item.id}")
    form = {"csrf": csrf_of(page.text), "action": "option:0"}
    assert (await client.post(f"/items/{item.id}/answer", data=form)).status_code == 303
    again = await client.post(f"/items/{item.id}/answer", data=form)
    assert again.status_code in (404, 409)


async def test_unknown_item_page_is_404(client: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    await log_in(client, tokens["ana"])
    assert (await client.get("/items/nope")).status_code == 404


async def test_logout_ends_the_session(client: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    await log_in(client, tokens["ana"])
    page = await client.get("/")
    assert (await client.post("/logout", data={"csrf": csrf_of(page.text)})).status_code == 303
    assert (await client.get("/")).status_code == 303


async def test_removing_an_actor_from_the_tokens_file_ends_its_sessions(
    client: httpx.AsyncClient, tokens_file: Path, tokens: dict[str, str]
) -> None:
    await log_in(client, tokens["ana"])
    assert (await client.get("/")).status_code == 200
    add_token(tokens_file, "ana")  # a new token replaces the old one
    assert (await client.get("/")).status_code == 303


async def test_insecure_mode_says_so_on_every_page(store: Checkpointer) -> None:
    app = create_app(store, auth=InsecureNoAuth.as_actor(Actor("demo")))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        page = await c.get("/")
    assert page.status_code == 200
    assert "Authentication is OFF" in page.text


async def test_live_count_streams_the_pending_total_as_server_sent_events(
    store: Checkpointer, tokens_file: Path, tokens: dict[str, str]
) -> None:
    auth = TokenAuth.from_file(tokens_file, secret="s")
    app = create_app(store, auth=auth)
    opened = auth.open_session(tokens["ana"])
    assert opened is not None
    first = await _first_event(app, "/events", cookie=f"locus_session={opened[1]}")
    assert first.startswith(b"event: count\ndata: ")
    assert json.loads(first.split(b"data: ")[1]) == {"total": 3}


async def test_live_count_needs_a_session(
    store: Checkpointer, tokens_file: Path, tokens: dict[str, str]
) -> None:
    app = create_app(store, auth=TokenAuth.from_file(tokens_file, secret="s"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        assert (await c.get("/events")).status_code == 303


async def _first_event(app: Any, path: str, *, cookie: str) -> bytes:
    """Drive the ASGI app by hand: an endless stream cannot go through httpx's transport."""
    sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    disconnect = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not getattr(receive, "done", False):
            receive.done = True  # type: ignore[attr-defined]
            return {"type": "http.request", "body": b"", "more_body": False}
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        await sent.put(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"inbox.test"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 1),
        "server": ("inbox.test", 80),
    }
    task = asyncio.create_task(app(scope, receive, send))
    try:
        start = await asyncio.wait_for(sent.get(), 10)
        assert start["status"] == 200
        while True:
            message = await asyncio.wait_for(sent.get(), 10)
            if message.get("body"):
                body: bytes = message["body"]
                return body
    finally:
        disconnect.set()
        await asyncio.wait_for(task, 10)


async def test_the_list_can_put_the_soonest_deadline_first(
    client: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    await log_in(client, tokens["ana"])
    newest = (await client.get("/")).text
    soonest = (await client.get("/?sort=deadline")).text
    # only the triage item has a deadline: newest-first puts it last, deadline-first first
    assert newest.index("Triage ticket T-1") > newest.index("Which plan?")
    assert soonest.index("Triage ticket T-1") < soonest.index("Which plan?")
