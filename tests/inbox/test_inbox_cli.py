"""``locus inbox ...``: list, show and answer against a real SQLite store; add-token; serve."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "web"))

from support import choice_graph, refund_graph

from locus import cli
from locus.checkpoint import connect
from locus.inbox import Inbox
from locus.inbox.cli import parse_value
from locus.inbox.tokens import TokenFile


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"  # an absolute path: four slashes

    async def pause() -> None:
        async with connect(url) as cp:
            await choice_graph(cp).execute({}, thread_id="c-1")
            await refund_graph(cp).execute({"order": "A-9"}, thread_id="r-1")

    asyncio.run(pause())
    return url


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    assert cli.main(["--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_value_is_json_when_it_parses_else_text() -> None:
    assert parse_value('{"approved": true}') == {"approved": True}
    assert parse_value("42") == 42
    assert parse_value("pro plan") == "pro plan"


def test_list_show_answer_round_trip(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    listed = _json(capsys, "inbox", "list", "--store", store_url)
    assert isinstance(listed, dict)
    items = {i["graph"]: i for i in listed["items"]}
    assert set(items) == {"choices", "refunds"}
    shown = _json(capsys, "inbox", "show", items["choices"]["id"], "--store", store_url)
    assert isinstance(shown, dict)
    assert shown["item"]["payload"]["options"] == ["basic", "pro"]
    assert [e["kind"] for e in shown["audit"]] == ["asked"]
    answered = _json(
        capsys,
        "inbox",
        "answer",
        items["choices"]["id"],
        "pro",
        "--as",
        "ana",
        "--reason",
        "fits",
        "--store",
        store_url,
    )
    assert answered == {
        "interrupt_id": items["choices"]["id"],
        "thread_id": "c-1",
        "complete": True,
        "answers_needed": 0,
    }

    async def trail() -> list[str]:
        async with connect(store_url) as cp:
            return [
                f"{e.kind}:{e.actor.id if e.actor else ''}" for e in await Inbox(cp).audit("c-1")
            ]

    assert asyncio.run(trail()) == ["asked:", "answered:ana"]


def test_list_prints_a_table_when_not_json(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["inbox", "list", "--store", store_url, "--graph", "refunds"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["ID", "GRAPH", "NODE", "THREAD", "QUESTION", "DUE"]
    assert "Run tool issue_refund?" in out[1]


def test_answer_refused_prints_one_line_and_exits_one(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = _json(capsys, "inbox", "list", "--store", store_url, "--graph", "refunds")
    assert isinstance(listed, dict)
    item = listed["items"][0]["id"]
    code = cli.main(["inbox", "answer", item, "true", "--as", "ana", "--store", store_url])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "may not be answered" in err
    code = cli.main(
        ["inbox", "answer", item, "true", "--as", "fin", "--roles", "finance", "--store", store_url]
    )
    assert code == 0


def test_a_missing_store_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LOCUS_STORE", raising=False)
    assert cli.main(["inbox", "list"]) == 1
    assert "LOCUS_STORE" in capsys.readouterr().err


def test_add_token_prints_the_token_once_and_stores_its_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.json"
    code = cli.main(
        ["inbox", "add-token", "ana", "--roles", "support,lead", "--tokens-file", str(path)]
    )
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert code == 0 and token.startswith("lct_")
    assert "shown only now" in captured.err
    assert token not in path.read_text()
    entry = TokenFile.load(path).lookup(token)
    assert entry is not None and entry.roles == frozenset({"support", "lead"})


def test_serve_refuses_to_start_without_authentication(
    store_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LOCUS_INBOX_TOKENS_FILE", raising=False)
    assert cli.main(["inbox", "serve", "--store", store_url]) == 1
    assert "--insecure-no-auth" in capsys.readouterr().err
