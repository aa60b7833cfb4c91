"""Email over SMTP (aiosmtpd) with single-use, expiring, signed links."""

from __future__ import annotations

import re
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from receivers import smtp_server
from starlette.applications import Starlette
from starlette.routing import Mount
from support import refund_graph

from locus.checkpoint import Checkpointer
from locus.checkpoint.sqlite import SQLiteCheckpointer
from locus.inbox import Actor, Inbox
from locus.notify import EmailLinks, EmailNotifier, Notifications
from locus.notify.signing import sign_link

SECRET = "link-secret"


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    async with SQLiteCheckpointer(str(tmp_path / "mail.db")) as cp:
        await refund_graph(cp).execute({"order": "A-1"}, thread_id="r-1")
        yield cp


async def _mail(store: Checkpointer) -> Message:
    with smtp_server() as (port, messages):
        notifier = EmailNotifier(
            "mail",
            recipients={"fin@example.com": Actor("fin", frozenset({"finance"}))},
            sender="locus@example.com",
            smtp_host="127.0.0.1",
            smtp_port=port,
            links_url="http://x/links",
            link_secret=SECRET,
        )
        assert await Notifications(store, [notifier]).run_once() == 1
    [message] = messages
    return message


def _links(message: Message) -> dict[str, str]:
    text = message.get_payload(decode=True).decode().replace("\r\n", "\n")  # type: ignore[union-attr]
    return dict(re.findall(r"^  (\w+): http://x(/links/\S+)$", text, re.M))


def _client(store: Checkpointer) -> httpx.AsyncClient:
    app = Starlette(routes=[Mount("/links", routes=EmailLinks(store, SECRET).routes)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x")


async def test_the_email_names_the_item_and_carries_one_link_per_choice(
    store: Checkpointer,
) -> None:
    message = await _mail(store)
    assert message["To"] == "fin@example.com"
    assert "Run tool issue_refund?" in message["Subject"]
    assert set(_links(message)) == {"Approve", "Reject"}


async def test_get_only_confirms_and_post_answers_once(store: Checkpointer) -> None:
    link = _links(await _mail(store))["Approve"]
    async with _client(store) as client:
        page = await client.get(link)
        assert page.status_code == 200 and "Confirm: Approve" in page.text
        assert [e.kind for e in await Inbox(store).audit("r-1")] == [
            "asked"
        ]  # GET answered nothing
        answered = await client.post(link)
        assert answered.status_code == 200, answered.text
        replay = await client.post(link)
    assert replay.status_code == 409
    assert "works once" in replay.text
    trail = await Inbox(store).audit("r-1")
    assert [e.kind for e in trail] == ["asked", "answered"]
    assert trail[-1].actor.id == "fin"
    assert trail[-1].data["value"] == {"approved": True}


async def test_an_expired_or_tampered_link_answers_nothing(store: Checkpointer) -> None:
    item = (await Inbox(store).pending()).items[0]
    expired = sign_link(
        SECRET, interrupt_id=item.id, actor_id="fin", value=True, label="Approve", ttl_seconds=-1
    )
    forged = sign_link(
        "guess", interrupt_id=item.id, actor_id="fin", value=True, label="Approve", ttl_seconds=60
    )
    async with _client(store) as client:
        assert (await client.post(f"/links/{expired}")).status_code == 410
        assert (await client.post(f"/links/{forged}")).status_code == 403
    assert [e.kind for e in await Inbox(store).audit("r-1")] == ["asked"]
