"""Bearer tokens for the inbox: a tokens file that maps sha256 hashes of tokens to actors.

The file holds one entry per actor: its id, roles, display name and the sha256 (hex) of
its token, never the token itself. JSON::

    {"version": 1, "actors": [
      {"id": "ana", "roles": ["support"], "display_name": "Ana", "token_sha256": "9f2c..."}]}

or TOML::

    version = 1
    [[actors]]
    id = "ana"
    roles = ["support"]
    token_sha256 = "9f2c..."

``add_token`` creates a random token, stores its hash and returns the token, which is then
shown once. Looking a token up hashes it and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from locus.errors import ConfigurationError

__all__ = ["TOKENS_ENV", "TokenEntry", "TokenFile", "add_token", "hash_token"]

TOKENS_ENV = "LOCUS_INBOX_TOKENS_FILE"
"""The environment variable ``locus inbox serve`` reads a tokens file path from."""

_VERSION = 1


def hash_token(token: str) -> str:
    """The sha256 (hex) of a token, the only form a tokens file stores."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenEntry:
    """One actor in a tokens file."""

    id: str
    roles: frozenset[str]
    display_name: str | None
    token_sha256: str


@dataclass(frozen=True, slots=True)
class TokenFile:
    """The parsed tokens file: entries by token hash.

    Raises (from ``load``):
        ConfigurationError: the file is missing, unreadable, of an unknown version, or an
            entry lacks an id or a 64-hex-digit ``token_sha256``; the message names the file
            and the entry.
    """

    path: Path
    entries: tuple[TokenEntry, ...]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TokenFile:
        """Read and check a tokens file (JSON, or TOML when it ends in ``.toml``)."""
        file = Path(path)
        data = _read(file)
        return cls(file, tuple(_entries(file, data)))

    def lookup(self, token: str) -> TokenEntry | None:
        """The entry whose hash matches ``token``, compared in constant time; else None."""
        digest = hash_token(token)
        found: TokenEntry | None = None
        for entry in self.entries:
            if hmac.compare_digest(entry.token_sha256, digest):
                found = entry
        return found

    def by_id(self, actor_id: str) -> TokenEntry | None:
        """The entry of actor ``actor_id``, if the file has one."""
        return next((e for e in self.entries if e.id == actor_id), None)


def add_token(
    path: str | os.PathLike[str],
    actor_id: str,
    *,
    roles: frozenset[str] = frozenset(),
    display_name: str | None = None,
) -> str:
    """Create a token for ``actor_id``, store its hash in the file and return the token.

    A second token for the same actor replaces the first. The file is created (mode 0600)
    when missing and rewritten atomically. A ``.toml`` file is rewritten as TOML.

    Raises:
        ConfigurationError: the existing file cannot be read, or ``actor_id`` is empty.
    """
    if not actor_id or not actor_id.strip():
        raise ConfigurationError("add-token needs a non-empty actor id")
    file = Path(path)
    data = _read(file) if file.exists() else {"version": _VERSION, "actors": []}
    entries = [e for e in _entries(file, data) if e.id != actor_id]
    token = "lct_" + secrets.token_urlsafe(32)
    entries.append(TokenEntry(actor_id, roles, display_name, hash_token(token)))
    _write(file, entries)
    return token


def _read(file: Path) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read tokens file {str(file)!r}: {exc.strerror}; create one with "
            "`locus inbox add-token ACTOR --tokens-file PATH`"
        ) from exc
    try:
        data: Any = tomllib.loads(text) if file.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"tokens file {str(file)!r} is not valid: {exc}") from exc
    if not isinstance(data, dict) or data.get("version", _VERSION) != _VERSION:
        raise ConfigurationError(
            f"tokens file {str(file)!r} has an unknown version "
            f"{data.get('version') if isinstance(data, dict) else None!r}; this locus reads "
            f"version {_VERSION}"
        )
    return data


def _entries(file: Path, data: dict[str, Any]) -> list[TokenEntry]:
    raw = data.get("actors", [])
    if not isinstance(raw, list):
        raise ConfigurationError(f"tokens file {str(file)!r}: 'actors' must be a list")
    entries = []
    for i, item in enumerate(raw):
        where = f"tokens file {str(file)!r}, actor #{i}"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise ConfigurationError(f"{where} has no string 'id'")
        digest = item.get("token_sha256")
        if not isinstance(digest, str) or len(digest) != 64 or not _is_hex(digest):
            raise ConfigurationError(
                f"{where} ({item['id']!r}) needs 'token_sha256', the 64 hex digits of the "
                "token's sha256; the file never holds the token itself"
            )
        roles = item.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ConfigurationError(f"{where} ({item['id']!r}): 'roles' must be strings")
        name = item.get("display_name")
        entries.append(
            TokenEntry(
                item["id"], frozenset(roles), name if isinstance(name, str) else None, digest
            )
        )
    return entries


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text.lower())


def _write(file: Path, entries: list[TokenEntry]) -> None:
    rows = [
        {
            "id": e.id,
            "roles": sorted(e.roles),
            **({"display_name": e.display_name} if e.display_name else {}),
            "token_sha256": e.token_sha256,
        }
        for e in entries
    ]
    if file.suffix == ".toml":
        text = f"version = {_VERSION}\n" + "".join(_toml_actor(r) for r in rows)
    else:
        text = json.dumps({"version": _VERSION, "actors": rows}, indent=2) + "\n"
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, file)


def _toml_actor(row: dict[str, Any]) -> str:
    # JSON strings are valid TOML basic strings for the characters ids and names use.
    lines = ["", "[[actors]]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in row.items()]
    return "\n".join(lines) + "\n"
