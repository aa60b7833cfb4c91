"""What the default ``MockModel`` says: deterministic, derived from the request alone.

* With no tool result since the last user message, when the request offers tools and the
  last user message names some of them, the reply calls those tools, in the order they are
  named. A tool is named by its whole name (``issue_refund``) or by the last word of it, in
  any case (``Refund`` names ``issue_refund``, ``weather`` names ``get_weather``); only
  whole words count.
* Each call's arguments are built from the tool's JSON Schema, required parameters only.
  Numbers in the last user message (``42``, ``$150``, ``9,000``, ``12.5``) go, in the order
  they appear, to the number parameters (``integer``, ``number``) and to the string
  parameters named like an id (``id``, ``order_id``, ``orderId``), in the schema's order:
  ``"Refund order 42 for $150"`` gives ``issue_refund(order_id="42", amount=150)``. Every
  other parameter, and any left over when the numbers run out, gets a fixed example: its
  ``const``, first ``enum`` value or ``default``, else ``"mock"`` for strings, ``1`` for
  numbers, ``true`` for booleans, ``[]`` for arrays, nested objects likewise.
* After tool results, it reports them: ``Mock reply 1a2b3c4d: tool results: name -> ...``.
* Otherwise it acknowledges the last user message:
  ``Mock reply 1a2b3c4d to: "<the message, clipped>"``.
* When the request asks for typed output (``request.output``), every answer that is not a
  tool call is instead a JSON instance of the output schema, built like tool arguments
  (numbers, lengths and item counts kept inside the schema's bounds), so it validates.

The 8-hex tag is the start of a sha256 of the serialized messages and tool names, so the
same conversation always gets the same reply and a different one (almost) never does.
Token counts are approximate but deterministic: one token per word or punctuation mark,
plus four per message.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from locus.core.messages import Message, ToolCall, Usage
from locus.models.base import ModelRequest, ToolSpec

__all__ = ["count_tokens", "default_reply", "split_chunks", "usage_for"]

_TOKEN = re.compile(r"\w+|[^\w\s]")
#: A number as people write one: ``42``, ``150``, ``9,000``, ``12.5`` (after ``$`` or ``#`` too).
#: Longer digit runs (no argument's number, and past int()'s digit limit) are skipped.
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3}){1,5}|\d{1,18})(\.\d{1,18})?(?!\w)")
#: A parameter named like an identifier: ``id``, ``order_id``, ``orderId``, ``ORDER_ID``.
_ID_NAME = re.compile(r"(?:^|_)(?:id|Id|ID)$|[a-z0-9](?:Id|ID)$")
_WORD = re.compile(r"\S+\s*")
_CLIP = 80
_MESSAGE_OVERHEAD = 4


def count_tokens(text: str) -> int:
    """Approximate tokens in ``text``: words and punctuation marks."""
    return len(_TOKEN.findall(text))


def usage_for(request: ModelRequest, reply: Message) -> Usage:
    """Deterministic token usage of answering ``request`` with ``reply``."""
    return Usage(
        input_tokens=sum(_message_tokens(m) for m in request.messages),
        output_tokens=_message_tokens(reply),
    )


def split_chunks(text: str, words_per_chunk: int) -> list[str]:
    """``text`` cut into pieces of ``words_per_chunk`` words that join back to ``text``."""
    if not text:
        return []
    words = _WORD.findall(text)
    head = text[: len(text) - len(text.lstrip())]
    chunks = [
        "".join(words[i : i + words_per_chunk]) for i in range(0, len(words), words_per_chunk)
    ]
    if head:
        chunks = [head + chunks[0], *chunks[1:]] if chunks else [head]
    return chunks


def default_reply(request: ModelRequest) -> tuple[str, tuple[ToolCall, ...]]:
    """The default mock's answer to ``request``: its text and any tool calls."""
    messages = request.messages
    tag = _digest(request)[:8]
    last_user_index = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    last_user = messages[last_user_index].content if last_user_index >= 0 else ""
    results = [m for m in messages[last_user_index + 1 :] if m.role == "tool"]
    if results:
        if request.output is not None:
            return example_output(request.output.json_schema), ()
        reported = "; ".join(f"{m.name} -> {_clip(m.content)}" for m in results)
        return f"Mock reply {tag}: tool results: {reported}", ()
    calls = _mentioned_tool_calls(request.tools, last_user, tag)
    if calls:
        return "", calls
    if request.output is not None:
        return example_output(request.output.json_schema), ()
    return f'Mock reply {tag} to: "{_clip(last_user)}"', ()


def example_output(schema: dict[str, Any]) -> str:
    """A deterministic JSON instance of ``schema`` (the mock's typed answer)."""
    value = _example(schema, schema.get("$defs", {}), depth=0)
    return json.dumps(value, ensure_ascii=False)


def _digest(request: ModelRequest) -> str:
    payload = {
        "messages": [m.model_dump(mode="json") for m in request.messages],
        "tools": [spec.name for spec in request.tools],
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _mentioned_tool_calls(tools: tuple[ToolSpec, ...], text: str, tag: str) -> tuple[ToolCall, ...]:
    found: list[tuple[int, ToolSpec]] = []
    for spec in tools:
        position = _mention(spec.name, text)
        if position is not None:
            found.append((position, spec))
    found.sort(key=lambda item: item[0])
    numbers = _numbers(text)
    return tuple(
        ToolCall(
            id=f"call_{tag}_{i}",
            name=spec.name,
            arguments=_example_arguments(spec.parameters, numbers),
        )
        for i, (_, spec) in enumerate(found)
    )


def _mention(name: str, text: str) -> int | None:
    """Where ``text`` first names the tool ``name``: whole, or by its last word."""
    match = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)
    if match:
        return match.start()
    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)
    if len(words) < 2:
        return None
    match = re.search(rf"(?<![\w-]){re.escape(words[-1])}(?![\w-])", text, re.IGNORECASE)
    return match.start() if match else None


def _numbers(text: str) -> list[tuple[str, str]]:
    """The numbers in ``text``, in order: (whole part without separators, fraction)."""
    return [(whole.replace(",", ""), fraction) for whole, fraction in _NUMBER.findall(text)]


def _example_arguments(schema: dict[str, Any], numbers: list[tuple[str, str]]) -> dict[str, Any]:
    defs = schema.get("$defs", {})
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        value = _example(schema, defs, depth=0)
        return value if isinstance(value, dict) else {}
    unused = iter(numbers)
    arguments: dict[str, Any] = {}
    for name in schema.get("required", ()):
        prop = properties.get(name, {})
        value = _example(prop, defs, depth=1)
        kind = _open_kind(prop, defs)
        number = None
        if kind in ("integer", "number") or (kind == "string" and _ID_NAME.search(str(name))):
            number = next(unused, None)
        if number is not None:
            whole, fraction = number
            if kind == "integer":
                value = int(whole)
            elif kind == "number":
                value = float(whole + fraction)
            else:
                value = whole + fraction
        arguments[name] = value
    return arguments


def _open_kind(schema: Any, defs: dict[str, Any]) -> str | None:
    """The JSON type of a parameter with no fixed choices (``const``, ``enum``, ``default``)."""
    for _ in range(8):
        if not isinstance(schema, dict) or {"const", "enum", "default"} & schema.keys():
            return None
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            schema = defs.get(ref.removeprefix("#/$defs/"))
            continue
        options = [o for key in ("anyOf", "oneOf") for o in schema.get(key, ()) if not _is_null(o)]
        if options:
            schema = options[0]
            continue
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        return kind if isinstance(kind, str) else None
    return None


def _example(schema: Any, defs: dict[str, Any], depth: int) -> Any:
    if not isinstance(schema, dict) or depth > 8:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _example(defs.get(ref.removeprefix("#/$defs/")), defs, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key, ()) if not _is_null(o)]
        if options:
            return _example(options[0], defs, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {
            name: _example(properties.get(name, {}), defs, depth + 1)
            for name in schema.get("required", ())
        }
    if kind in ("integer", "number"):
        return _number(schema, kind == "integer")
    if kind == "string":
        return _string(schema)
    if kind == "array":
        count = schema.get("minItems", 0)
        item = schema.get("items", {})
        return [
            _example(item, defs, depth + 1) for _ in range(count if isinstance(count, int) else 0)
        ]
    return {"boolean": True, "null": None}.get(kind if isinstance(kind, str) else "")


_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00",
    "email": "mock@example.com",
    "uri": "https://example.com/mock",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def _number(schema: dict[str, Any], integer: bool) -> int | float:
    """1 when the bounds allow it, else the nearest value inside them."""
    value: float = 1
    low, high = schema.get("minimum"), schema.get("maximum")
    low_x, high_x = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    step = 1 if integer else 0.5
    if isinstance(high, int | float) and value > high:
        value = high
    if isinstance(high_x, int | float) and value >= high_x:
        value = high_x - step
    if isinstance(low, int | float) and value < low:
        value = low
    if isinstance(low_x, int | float) and value <= low_x:
        value = low_x + step
        if isinstance(high_x, int | float) and value >= high_x:
            value = (low_x + high_x) / 2
    return int(value) if integer else float(value)


def _string(schema: dict[str, Any]) -> str:
    text = _FORMATS.get(str(schema.get("format", "")), "mock")
    low, high = schema.get("minLength"), schema.get("maxLength")
    if isinstance(low, int) and len(text) < low:
        text = text + "k" * (low - len(text))
    if isinstance(high, int) and len(text) > high:
        text = text[:high]
    return text


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _message_tokens(message: Message) -> int:
    tokens = _MESSAGE_OVERHEAD + count_tokens(message.content)
    for call in message.tool_calls:
        tokens += count_tokens(call.name) + count_tokens(json.dumps(call.arguments, default=str))
    return tokens


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _CLIP else flat[: _CLIP - 1] + "…"
