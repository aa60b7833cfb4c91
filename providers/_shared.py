"""Small helpers every provider adapter needs: tool-call arguments, the call a tool result
answers, and secret redaction."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from locus.core.messages import Message
from locus.errors import ModelProviderError, UserError

__all__ = ["answered_call_id", "parse_tool_arguments", "redact"]

# OpenAI-style keys (``sk-...``, ``sk-proj-...``), masked or not, wherever a provider echoes one.
_KEY_PATTERN = re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-*]{6,}")

REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Return ``text`` with every given secret, and anything shaped like an API key, removed."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _KEY_PATTERN.sub(REDACTED, text)


def answered_call_id(message: Message) -> str:
    """The id of the tool call a ``tool`` message answers.

    Raises:
        UserError: the message has no ``tool_call_id`` (says how to build one).
    """
    if not message.tool_call_id:
        raise UserError(
            f"a tool message (name={message.name!r}) has no tool_call_id; build it with "
            "Message.tool(tool_call_id, name, content)"
        )
    return message.tool_call_id


def parse_tool_arguments(raw: str | None, *, tool: str, provider: str) -> dict[str, Any]:
    """Decode a tool call's JSON arguments; an empty string means no arguments.

    Raises:
        ModelProviderError: when the model produced arguments that are not a JSON object.
    """
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelProviderError(
            f"{provider}: the model called tool {tool!r} with arguments that are not valid "
            f"JSON ({exc.msg} at position {exc.pos})",
            provider=provider,
        ) from exc
    if not isinstance(value, dict):
        raise ModelProviderError(
            f"{provider}: the model called tool {tool!r} with a JSON {type(value).__name__} "
            "where an object of arguments was expected",
            provider=provider,
        )
    return value
