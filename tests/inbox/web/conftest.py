"""Fixtures for the web app tests: a real SQLite store with paused graphs, a tokens file,
and an HTTP client talking to the ASGI app."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support import choice_graph, refund_graph, triage_graph

from locus.checkpoint import Checkpointer
from locus.checkpoint.sqlite import SQLiteCheckpointer
from locus.inbox import Inbox, InboxItem
from locus.inbox.tokens import add_token
from locus.inbox.web import TokenAuth, create_app

BASE = "http://inbox.test"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Checkpointer]:
    async with SQLiteCheckpointer(str(tmp_path / "inbox.db")) as cp:
        await triage_graph(cp).execute({"ticket": "T-1"}, thread_id="t-1")
        await refund_graph(cp).execute({"order": "A-1"}, thread_id="r-1")
        await choice_graph(cp).execute({}, thread_id="c-1")
        yield cp


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    return tmp_path / "tokens.json"


@pytest.fixture
def tokens(tokens_file: Path) -> dict[str, str]:
    return {
        "ana": add_token(tokens_file, "ana", roles=frozenset({"support"}), display_name="Ana"),
        "fin": add_token(tokens_file, "fin", roles=frozenset({"finance"})),
    }


@pytest.fixture
async def client(
    store: Checkpointer, tokens_file: Path, tokens: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(store, auth=TokenAuth.from_file(tokens_file, secret="test-secret"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


async def item_of(store: Checkpointer, graph: str) -> InboxItem:
    page = await Inbox(store).pending(graph=graph)
    return page.items[0]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def log_in(client: httpx.AsyncClient, token: str) -> None:
    page = await client.get("/login")
    done = await client.post(
        "/login", data={"csrf": csrf_of(page.text), "token": token, "next": "/"}
    )
    assert done.status_code == 303, done.text
