"""Email over SMTP with single-use, expiring, signed answer links.

Each recipient is mapped to an actor and gets its own message, whose links answer as that
actor. A link's GET only shows a confirmation page (mail scanners fetch links); the page's
POST answers, once: the link id is recorded in the store and a replay is refused.
"""

from __future__ import annotations

import asyncio
import html
import json
import smtplib
import time
from collections.abc import Iterable, Mapping
from email.message import EmailMessage
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from locus.checkpoint import Checkpointer
from locus.errors import ConfigurationError, LocusError, NotificationError
from locus.inbox import Actor, Inbox
from locus.notify.base import Notice, Notifier
from locus.notify.ledger import ledger_for
from locus.notify.signing import read_link, sign_link

__all__ = ["EmailLinks", "EmailNotifier"]


def _choices(notice: Notice) -> list[tuple[str, Any]]:
    payload = notice.payload if isinstance(notice.payload, dict) else {}
    if payload.get("type") == "tool_approval":
        return [("Approve", {"approved": True}), ("Reject", {"approved": False})]
    options = payload.get("options")
    if isinstance(options, list):
        return [(o if isinstance(o, str) else json.dumps(o), o) for o in options]
    return []


class EmailNotifier(Notifier):
    """Send each notice by email, with answer links when the item has fixed choices.

    Args:
        name: see ``Notifier``.
        recipients: email address -> the actor its links answer as.
        sender: the From address.
        smtp_host, smtp_port: the SMTP server; ``starttls`` and ``username``/``password``
            when it needs them.
        links_url: the base URL where ``EmailLinks`` is mounted (``.../links``).
        link_secret: signs the links.
        link_seconds: how long a link stays valid.
        inbox_url: the web inbox, for a link to the item page.
        graphs, kinds, remind_before: see ``Notifier``.

    Raises:
        ConfigurationError: no recipients, or no link secret.
    """

    def __init__(
        self,
        name: str,
        *,
        recipients: Mapping[str, Actor],
        sender: str,
        smtp_host: str,
        smtp_port: int = 25,
        links_url: str,
        link_secret: str | bytes,
        link_seconds: float = 24 * 3600,
        inbox_url: str | None = None,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        graphs: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        remind_before: float | None = None,
    ) -> None:
        super().__init__(name, graphs=graphs, kinds=kinds, remind_before=remind_before)
        if not recipients:
            raise ConfigurationError(f"email {name!r}: give at least one recipient")
        if not link_secret:
            raise ConfigurationError(f"email {name!r}: link_secret is required")
        self.recipients = dict(recipients)
        self.sender, self.smtp_host, self.smtp_port = sender, smtp_host, smtp_port
        self.links_url, self.link_secret, self.link_seconds = links_url, link_secret, link_seconds
        self.inbox_url = inbox_url
        self.starttls, self.username, self.password = starttls, username, password

    def message(self, notice: Notice, address: str, actor: Actor) -> EmailMessage:
        """The email for one recipient, its links bound to ``actor``."""
        msg = EmailMessage()
        msg["From"], msg["To"] = self.sender, address
        msg["Subject"] = f"[locus] {notice.kind.replace('_', ' ')}: {notice.summary}"[:200]
        msg["X-Locus-Idempotency-Key"] = notice.key
        lines = [notice.summary, "", f"{notice.graph} / {notice.node} / thread {notice.thread_id}"]
        if notice.deadline:
            lines.append(f"Due: {notice.deadline}")
        links = []
        if notice.kind in ("asked", "reminder", "escalated") and notice.interrupt_id:
            for label, value in _choices(notice):
                token = sign_link(
                    self.link_secret,
                    interrupt_id=notice.interrupt_id,
                    actor_id=actor.id,
                    value=value,
                    label=label,
                    ttl_seconds=self.link_seconds,
                    roles=actor.roles,
                )
                links.append((label, f"{self.links_url.rstrip('/')}/{token}"))
        if links:
            lines += ["", "Answer (each link asks you to confirm; it works once):"]
            lines += [f"  {label}: {url}" for label, url in links]
        if self.inbox_url and notice.interrupt_id:
            lines += ["", f"Open: {self.inbox_url.rstrip('/')}/items/{notice.interrupt_id}"]
        msg.set_content("\n".join(lines) + "\n")
        return msg

    async def send(self, notice: Notice) -> None:
        messages = [self.message(notice, a, actor) for a, actor in self.recipients.items()]
        try:
            await asyncio.to_thread(self._send_all, messages)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotificationError(
                f"SMTP {self.smtp_host}:{self.smtp_port} failed: {exc}"
            ) from exc

    def _send_all(self, messages: list[EmailMessage]) -> None:
        with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=15) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            for msg in messages:
                smtp.send_message(msg)


class EmailLinks:
    """The pages behind email links: GET confirms, POST answers once.

    Mount ``routes`` in an app at the ``links_url`` the ``EmailNotifier`` was given, e.g.
    ``Mount("/links", routes=EmailLinks(cp, secret).routes)``.

    Args:
        checkpointer: the store (single use is recorded there).
        link_secret: the secret the notifier signs links with.
    """

    def __init__(self, checkpointer: Checkpointer, link_secret: str | bytes) -> None:
        self.checkpointer, self.inbox = checkpointer, Inbox(checkpointer)
        self.link_secret = link_secret

    @property
    def routes(self) -> list[Route]:
        """``GET /{token}`` and ``POST /{token}``."""
        return [Route("/{token}", self.endpoint, methods=["GET", "POST"])]

    async def endpoint(self, request: Request) -> Response:
        """Confirm (GET) or answer (POST); 403 bad signature, 410 expired, 409 used."""
        token = request.path_params["token"]
        claim = read_link(self.link_secret, token)
        if claim is None:
            return _page("Invalid link", "This link is not valid.", 403)
        if claim.expires_at < time.time():
            return _page("Link expired", "This link has expired; open the inbox instead.", 410)
        label = html.escape(claim.label)
        if request.method == "GET":
            form = (
                f'<form method="post"><p>Answer <strong>{label}</strong> as '
                f"{html.escape(claim.actor_id)}?</p>"
                f'<button type="submit">Confirm: {label}</button></form>'
            )
            return _page("Confirm your answer", form, 200, raw=True)
        if not await ledger_for(self.checkpointer).use_once(claim.link_id, claim.expires_at):
            return _page("Link already used", "This link was used already; it works once.", 409)
        try:
            receipt = await self.inbox.answer(
                claim.interrupt_id,
                claim.value,
                actor=Actor(claim.actor_id, frozenset(claim.roles)),
                reason="via email",
            )
        except LocusError as exc:
            return _page("Not recorded", str(exc), 409)
        done = "recorded" if receipt.complete else f"recorded; {receipt.answers_needed} more needed"
        return _page("Thank you", f"Your answer ({claim.label}) was {done}.", 200)


def _page(title: str, body: str, status: int, *, raw: bool = False) -> HTMLResponse:
    text = body if raw else f"<p>{html.escape(body)}</p>"
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1>{text}</body></html>",
        status_code=status,
    )
