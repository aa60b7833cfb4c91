"""Signatures: locus webhooks (HMAC-SHA256 over a timestamp and the body), Slack's request
signing, and single-use, expiring links for email.

A webhook carries ``Locus-Signature: t=<unix seconds>,v1=<hex>`` where the hex is
``HMAC-SHA256(secret, f"{t}.{body}")``. A receiver recomputes it and refuses a timestamp
older than its tolerance, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SIGNATURE_HEADER",
    "LinkClaim",
    "read_link",
    "sign_link",
    "sign_webhook",
    "verify_slack",
    "verify_webhook",
]

SIGNATURE_HEADER = "Locus-Signature"


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign_webhook(secret: str | bytes, body: bytes, timestamp: int | None = None) -> str:
    """The ``Locus-Signature`` header value for ``body`` sent at ``timestamp`` (default now)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(_key(secret), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify_webhook(
    secret: str | bytes,
    body: bytes,
    header: str | None,
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    """Whether ``header`` signs ``body`` under ``secret`` and is at most ``tolerance`` old."""
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = sign_webhook(secret, body, t).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def verify_slack(
    signing_secret: str | bytes,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    """Slack's check of ``X-Slack-Signature`` (``v0=`` HMAC of ``v0:{ts}:{body}``)."""
    if not timestamp or not signature:
        return False
    try:
        t = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    base = f"v0:{t}:".encode() + body
    expected = "v0=" + hmac.new(_key(signing_secret), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a signed link says: answer ``interrupt_id`` with ``value`` as ``actor_id`` (with
    ``roles``).

    Attributes:
        link_id: unique per link; used once, then refused.
        label: what the reviewer chose, shown on the confirmation page.
        expires_at: epoch seconds.
    """

    link_id: str
    interrupt_id: str
    actor_id: str
    value: Any
    label: str
    expires_at: float
    roles: tuple[str, ...] = ()


def sign_link(
    secret: str | bytes,
    *,
    interrupt_id: str,
    actor_id: str,
    value: Any,
    label: str,
    ttl_seconds: float,
    roles: Iterable[str] = (),
) -> str:
    """A URL-safe token for a link that answers once, until ``ttl_seconds`` from now."""
    body = {
        "n": secrets.token_urlsafe(12),
        "i": interrupt_id,
        "a": actor_id,
        "v": value,
        "l": label,
        "e": int(time.time() + ttl_seconds),
        "r": sorted(roles),
    }
    data = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode())
    text = data.rstrip(b"=").decode()
    mac = hmac.new(_key(secret), b"link|" + text.encode(), hashlib.sha256).digest()
    return f"{text}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def read_link(secret: str | bytes, token: str, *, now: float | None = None) -> LinkClaim | None:
    """The claim of a validly signed token, or None. Expiry is the caller's to check."""
    text, _, mac = token.partition(".")
    expected = hmac.new(_key(secret), b"link|" + text.encode(), hashlib.sha256).digest()
    given = mac + "=" * (-len(mac) % 4)
    try:
        if not hmac.compare_digest(base64.urlsafe_b64decode(given), expected):
            return None
        body = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return LinkClaim(
            str(body["n"]),
            str(body["i"]),
            str(body["a"]),
            body["v"],
            str(body["l"]),
            float(body["e"]),
            tuple(str(r) for r in body.get("r", ())),
        )
    except (ValueError, KeyError, TypeError):
        return None
