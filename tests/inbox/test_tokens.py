"""The tokens file: only hashes are stored; JSON and TOML; bad files are named errors."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from locus.errors import ConfigurationError
from locus.inbox.tokens import TokenFile, add_token


def test_add_token_stores_only_the_sha256_of_the_token(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    token = add_token(path, "ana", roles=frozenset({"support", "lead"}), display_name="Ana")
    text = path.read_text()
    assert token not in text
    assert hashlib.sha256(token.encode()).hexdigest() in text
    assert json.loads(text)["actors"][0]["roles"] == ["lead", "support"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entry = TokenFile.load(path).lookup(token)
    assert entry is not None and entry.id == "ana" and entry.display_name == "Ana"


def test_toml_tokens_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    token = add_token(path, "fin", roles=frozenset({"finance"}))
    add_token(path, "ana")
    assert "[[actors]]" in path.read_text()
    entry = TokenFile.load(path).lookup(token)
    assert entry is not None and entry.roles == frozenset({"finance"})


def test_a_new_token_for_an_actor_replaces_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    old = add_token(path, "ana")
    new = add_token(path, "ana")
    tokens = TokenFile.load(path)
    assert tokens.lookup(old) is None
    assert tokens.lookup(new) is not None
    assert len(tokens.entries) == 1


def test_an_entry_holding_a_plain_token_is_refused_with_the_actor_named(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"version": 1, "actors": [{"id": "ana", "token": "secret"}]}))
    with pytest.raises(ConfigurationError, match=r"'ana'.*token_sha256"):
        TokenFile.load(path)


def test_a_missing_tokens_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="add-token"):
        TokenFile.load(tmp_path / "none.json")
