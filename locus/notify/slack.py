"""Slack: a message with the question and buttons to an incoming webhook, and the handler
for Slack's interaction callbacks that answers as the Slack user's mapped actor."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from locus.errors import ConfigurationError, LocusError, NotificationError
from locus.inbox import Actor, Inbox
from locus.notify.base import Notice, Notifier
from locus.notify.signing import verify_slack

__all__ = ["SlackInteractions", "SlackNotifier", "slack_message"]

_MAX_VALUE = 2000  # Slack's limit on a button's value


def _buttons(notice: Notice) -> list[tuple[str, Any, str | None]]:
    """(label, answer, style) for the notice's buttons."""
    payload = notice.payload if isinstance(notice.payload, dict) else {}
    if payload.get("type") == "tool_approval":
        return [
            ("Approve", {"approved": True}, "primary"),
            ("Reject", {"approved": False}, "danger"),
        ]
    options = payload.get("options")
    if isinstance(options, list):
        return [(o if isinstance(o, str) else json.dumps(o), o, None) for o in options[:5]]
    return []


def slack_message(notice: Notice, *, inbox_url: str | None = None) -> dict[str, Any]:
    """The Block Kit message for ``notice``: text, context, answer buttons, a link."""
    title = {
        "asked": "Waiting for you",
        "reminder": "Reminder: due soon",
        "escalated": "Escalated to you",
        "expired": "Expired",
        "timed_out": "Timed out",
    }[notice.kind]
    due = f" · due {notice.deadline}" if notice.deadline else ""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}:* {notice.summary}"}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{notice.graph} · {notice.node} · thread `{notice.thread_id}`{due}",
                }
            ],
        },
    ]
    elements: list[dict[str, Any]] = []
    if notice.kind in ("asked", "reminder", "escalated") and notice.interrupt_id:
        for i, (label, answer, style) in enumerate(_buttons(notice)):
            value = json.dumps({"i": notice.interrupt_id, "v": answer}, separators=(",", ":"))
            if len(value) > _MAX_VALUE:
                continue
            button: dict[str, Any] = {
                "type": "button",
                "action_id": f"locus_answer_{i}",
                "text": {"type": "plain_text", "text": label[:75]},
                "value": value,
            }
            if style:
                button["style"] = style
            elements.append(button)
        if inbox_url:
            elements.append(
                {
                    "type": "button",
                    "action_id": "locus_open",
                    "text": {"type": "plain_text", "text": "Open in inbox"},
                    "url": f"{inbox_url.rstrip('/')}/items/{notice.interrupt_id}",
                }
            )
    if elements:
        blocks.append({"type": "actions", "elements": elements})
    return {"text": f"{title}: {notice.summary}", "blocks": blocks}


class SlackNotifier(Notifier):
    """Post notices to a Slack incoming webhook.

    Args:
        name: see ``Notifier``.
        webhook_url: the incoming webhook's URL.
        inbox_url: the web inbox's base URL, for an "Open in inbox" button.
        client: an ``httpx.AsyncClient`` to send with.
        graphs, kinds, remind_before: see ``Notifier``.
    """

    def __init__(
        self,
        name: str,
        webhook_url: str,
        *,
        inbox_url: str | None = None,
        client: httpx.AsyncClient | None = None,
        graphs: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        remind_before: float | None = None,
    ) -> None:
        super().__init__(name, graphs=graphs, kinds=kinds, remind_before=remind_before)
        if not webhook_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"slack {name!r}: webhook_url must be http(s)")
        self.webhook_url, self.inbox_url, self.client = webhook_url, inbox_url, client

    async def send(self, notice: Notice) -> None:
        message = slack_message(notice, inbox_url=self.inbox_url)
        try:
            if self.client is not None:
                response = await self.client.post(self.webhook_url, json=message, timeout=10)
            else:
                async with httpx.AsyncClient(timeout=10) as client:
                    response = await client.post(self.webhook_url, json=message)
        except httpx.HTTPError as exc:
            raise NotificationError(f"slack {self.name!r}: webhook failed: {exc!r}") from exc
        if not response.is_success:
            raise NotificationError(
                f"Slack webhook answered {response.status_code}: {response.text}"
            )


class SlackInteractions:
    """The endpoint for Slack's interaction callbacks (``routes``, or ``endpoint`` itself).

    Verifies ``X-Slack-Signature`` with the app's signing secret (refusing requests older
    than five minutes), maps the Slack user id to an actor, and answers the item the
    button names as that actor. A user not in ``actors`` cannot answer.

    Args:
        inbox: the inbox to answer in.
        signing_secret: the Slack app's signing secret.
        actors: Slack user id -> ``Actor``.
    """

    def __init__(self, inbox: Inbox, signing_secret: str, actors: Mapping[str, Actor]) -> None:
        if not signing_secret:
            raise ConfigurationError("SlackInteractions needs the Slack app's signing secret")
        self.inbox, self.signing_secret, self.actors = inbox, signing_secret, dict(actors)

    @property
    def routes(self) -> list[Route]:
        """``POST /``: mount it where the Slack app's interactivity URL points."""
        return [Route("/", self.endpoint, methods=["POST"])]

    async def endpoint(self, request: Request) -> Response:
        """Handle one callback: 401 on a bad signature, else 200 with what happened."""
        body = await request.body()
        if not verify_slack(
            self.signing_secret,
            body,
            request.headers.get("x-slack-request-timestamp"),
            request.headers.get("x-slack-signature"),
        ):
            return JSONResponse({"error": "bad Slack signature"}, status_code=401)
        try:
            payload = json.loads(parse_qs(body.decode())["payload"][0])
            user = str(payload["user"]["id"])
            action = payload["actions"][0]
            choice = json.loads(action["value"])
            interrupt_id, value = str(choice["i"]), choice["v"]
        except (KeyError, IndexError, ValueError, TypeError):
            return JSONResponse({"error": "not a locus button callback"}, status_code=400)
        actor = self.actors.get(user)
        if actor is None:
            return _ephemeral(f"Slack user {user} is not mapped to an inbox actor.")
        try:
            receipt = await self.inbox.answer(interrupt_id, value, actor=actor, reason="via Slack")
        except LocusError as exc:
            return _ephemeral(f"Not recorded: {exc}")
        done = (
            "Answered" if receipt.complete else f"Recorded ({receipt.answers_needed} more needed)"
        )
        return _ephemeral(f"{done} as {actor.display_name or actor.id}.")


def _ephemeral(text: str) -> Response:
    return JSONResponse({"response_type": "ephemeral", "replace_original": False, "text": text})
