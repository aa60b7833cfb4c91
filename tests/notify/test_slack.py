"""Slack: a message with buttons to an incoming webhook; callbacks verified and answered as
the mapped actor."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from receivers import webhook_receiver
from starlette.applications import Starlette
from starlette.routing import Route
from support import choice_graph, refund_graph

from locus.checkpoint import Checkpointer
from locus.checkpoint.sqlite import SQLiteCheckpointer
from locus.inbox import Actor, Inbox
from locus.notify import Notifications, SlackInteractions, SlackNotifier

SIGNING_SECRET = "slack-signing-secret"


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    async with SQLiteCheckpointer(str(tmp_path / "slack.db")) as cp:
        await refund_graph(cp).execute({"order": "A-1"}, thread_id="r-1")
        await choice_graph(cp).execute({}, thread_id="c-1")
        yield cp


def slack_request(button: dict[str, Any], user: str, *, secret: str = SIGNING_SECRET) -> Any:
    """The request Slack sends when ``user`` clicks ``button``, signed as Slack signs it."""
    payload = {"type": "block_actions", "user": {"id": user}, "actions": [button]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    ts = str(int(time.time()))
    mac = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={mac}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return body, headers


async def _messages(store: Checkpointer, graph: str) -> list[dict[str, Any]]:
    with webhook_receiver(None) as slack:
        notifier = SlackNotifier(
            "slack", slack.url, inbox_url="https://inbox.example", graphs=[graph]
        )
        assert await Notifications(store, [notifier]).run_once() == 1
    return slack.received


def _app(store: Checkpointer) -> Starlette:
    handler = SlackInteractions(
        Inbox(store), SIGNING_SECRET, {"U-FIN": Actor("fin", frozenset({"finance"}))}
    )
    return Starlette(routes=[Route("/slack/interactions", handler.endpoint, methods=["POST"])])


async def test_a_tool_approval_posts_approve_and_reject_buttons(store: Checkpointer) -> None:
    [message] = await _messages(store, "refunds")
    assert "Run tool issue_refund?" in message["text"]
    actions = next(b for b in message["blocks"] if b["type"] == "actions")["elements"]
    assert [a["text"]["text"] for a in actions] == ["Approve", "Reject", "Open in inbox"]
    assert actions[2]["url"].startswith("https://inbox.example/items/")


async def test_a_signed_click_answers_as_the_mapped_actor(store: Checkpointer) -> None:
    [message] = await _messages(store, "refunds")
    reject = next(b for b in message["blocks"] if b["type"] == "actions")["elements"][1]
    body, headers = slack_request(reject, "U-FIN")
    transport = httpx.ASGITransport(app=_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        response = await client.post("/slack/interactions", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["text"] == "Answered as fin."
    trail = await Inbox(store).audit("r-1")
    assert trail[-1].kind == "answered"
    assert trail[-1].actor.id == "fin"
    assert trail[-1].data["value"] == {"approved": False}


async def test_a_callback_with_a_bad_signature_is_401_and_answers_nothing(
    store: Checkpointer,
) -> None:
    [message] = await _messages(store, "refunds")
    approve = next(b for b in message["blocks"] if b["type"] == "actions")["elements"][0]
    body, headers = slack_request(approve, "U-FIN", secret="not-slack")
    transport = httpx.ASGITransport(app=_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        response = await client.post("/slack/interactions", content=body, headers=headers)
    assert response.status_code == 401
    assert [e.kind for e in await Inbox(store).audit("r-1")] == ["asked"]


async def test_a_slack_user_without_an_actor_cannot_answer(store: Checkpointer) -> None:
    [message] = await _messages(store, "choices")
    pro = next(b for b in message["blocks"] if b["type"] == "actions")["elements"][1]
    assert pro["text"]["text"] == "pro"
    body, headers = slack_request(pro, "U-STRANGER")
    transport = httpx.ASGITransport(app=_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        response = await client.post("/slack/interactions", content=body, headers=headers)
    assert "not mapped" in response.json()["text"]
    assert [e.kind for e in await Inbox(store).audit("c-1")] == ["asked"]
