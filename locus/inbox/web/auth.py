"""Who is asking: bearer tokens for the API, a signed session cookie for the pages, CSRF.

``TokenAuth`` reads a tokens file (see ``locus.inbox.tokens``); it re-reads the file when
it changes, so removing an entry locks its actor out, sessions included (a session names
the hash prefix of the token it was opened with). ``InsecureNoAuth`` lets every request
act as one fixed actor, for local demos only.

Sessions and CSRF tokens are HMACs under a secret: given, or from ``LOCUS_INBOX_SECRET``,
or random per process (sessions then end when the server restarts). A CSRF token is bound
to the session it was issued for, or, before logging in, to a random login cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from locus.inbox import Actor
from locus.inbox.tokens import TokenEntry, TokenFile

__all__ = [
    "LOGIN_COOKIE",
    "SECRET_ENV",
    "SESSION_COOKIE",
    "InsecureNoAuth",
    "TokenAuth",
    "WebAuth",
]

SESSION_COOKIE = "locus_session"
LOGIN_COOKIE = "locus_login"
SECRET_ENV = "LOCUS_INBOX_SECRET"


def _secret(given: str | bytes | None) -> bytes:
    value = given if given is not None else os.environ.get(SECRET_ENV)
    if value is None:
        return secrets.token_bytes(32)
    return value.encode() if isinstance(value, str) else value


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class WebAuth:
    """What every authenticator shares: signing sessions and CSRF tokens."""

    secret: bytes
    session_seconds: float = 12 * 3600

    @property
    def insecure(self) -> bool:
        """True when requests are not authenticated at all."""
        return False

    def sign(self, purpose: str, value: str) -> str:
        """An HMAC of ``value`` for ``purpose`` (hex)."""
        mac = hmac.new(self.secret, f"{purpose}|{value}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def csrf_token(self, binding: str) -> str:
        """The CSRF token for forms shown to the holder of ``binding`` (a cookie value)."""
        return self.sign("csrf", binding)

    def csrf_ok(self, binding: str | None, token: str | None) -> bool:
        """Whether ``token`` is the CSRF token of ``binding``, compared in constant time."""
        if not binding or not token:
            return False
        return hmac.compare_digest(self.csrf_token(binding), token)

    def actor_for_token(self, token: str) -> Actor | None:
        """The actor a bearer token belongs to, or None."""
        raise NotImplementedError

    def open_session(self, token: str) -> tuple[Actor, str] | None:
        """Check a token and return its actor and a new session cookie value, or None."""
        raise NotImplementedError

    def actor_for_session(self, cookie: str | None) -> Actor | None:
        """The actor of a session cookie that is validly signed, unexpired and unrevoked."""
        raise NotImplementedError


@dataclass
class TokenAuth(WebAuth):
    """Bearer tokens and sessions from a tokens file.

    Args:
        tokens_file: the JSON or TOML tokens file (hashes only).
        secret: signs sessions and CSRF tokens; default ``LOCUS_INBOX_SECRET`` or random.
        session_seconds: how long a session lasts after logging in.

    Raises:
        ConfigurationError: the tokens file cannot be read or is malformed.
    """

    tokens_file: Path = field(default_factory=Path)
    _tokens: TokenFile | None = None
    _mtime: float = -1.0

    @classmethod
    def from_file(
        cls,
        tokens_file: str | os.PathLike[str],
        *,
        secret: str | bytes | None = None,
        session_seconds: float = 12 * 3600,
    ) -> TokenAuth:
        """Authenticate against ``tokens_file`` (read now, so a bad file fails at startup)."""
        auth = cls(_secret(secret), session_seconds, Path(tokens_file))
        auth._current()
        return auth

    def _current(self) -> TokenFile:
        mtime = self.tokens_file.stat().st_mtime if self.tokens_file.exists() else -1.0
        if self._tokens is None or mtime != self._mtime:
            self._tokens, self._mtime = TokenFile.load(self.tokens_file), mtime
        return self._tokens

    def actor_for_token(self, token: str) -> Actor | None:
        entry = self._current().lookup(token)
        return _actor(entry) if entry else None

    def open_session(self, token: str) -> tuple[Actor, str] | None:
        entry = self._current().lookup(token)
        if entry is None:
            return None
        body = {
            "a": entry.id,
            "h": entry.token_sha256[:16],
            "e": int(time.time() + self.session_seconds),
        }
        value = _b64(json.dumps(body, separators=(",", ":")).encode())
        return _actor(entry), f"{value}.{self.sign('session', value)}"

    def actor_for_session(self, cookie: str | None) -> Actor | None:
        if not cookie or "." not in cookie:
            return None
        value, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(self.sign("session", value), mac):
            return None
        try:
            body: Any = json.loads(_unb64(value))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(body, dict) or not isinstance(body.get("e"), int):
            return None
        if body["e"] < time.time():
            return None
        entry = self._current().by_id(str(body.get("a")))
        if entry is None or entry.token_sha256[:16] != body.get("h"):
            return None
        return _actor(entry)


@dataclass
class InsecureNoAuth(WebAuth):
    """Every request acts as ``actor``. For local demos only: anyone who can reach the
    server can answer as that actor."""

    actor: Actor = field(default_factory=lambda: Actor("local-demo"))

    @classmethod
    def as_actor(cls, actor: Actor | None = None) -> InsecureNoAuth:
        """No authentication; every request is ``actor`` (default ``local-demo``)."""
        return cls(_secret(None), actor=actor or Actor("local-demo"))

    @property
    def insecure(self) -> bool:
        return True

    def actor_for_token(self, token: str) -> Actor | None:
        return self.actor

    def open_session(self, token: str) -> tuple[Actor, str] | None:
        value = _b64(secrets.token_bytes(12))
        return self.actor, f"{value}.{self.sign('session', value)}"

    def actor_for_session(self, cookie: str | None) -> Actor | None:
        return self.actor


def _actor(entry: TokenEntry) -> Actor:
    return Actor(entry.id, entry.roles, entry.display_name)
