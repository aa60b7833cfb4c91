"""What an OpenAI-compatible server streams for one chat completion, for respx to answer."""

from __future__ import annotations

import json
from typing import Any

import httpx

#: where the OpenAI SDK is pointed in these tests; respx answers it
BASE_URL = "https://llm.test/v1"


def sse(
    *deltas: dict[str, Any],
    finish: str,
    usage: tuple[int, int] | None = None,
    model: str = "gpt-4.1",
) -> httpx.Response:
    """A streamed completion: one chunk per delta, the finish reason, then the usage
    (prompt and completion tokens) when given, as ``stream_options.include_usage`` sends it."""

    def chunk(choices: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": model,
            "choices": choices,
            **more,
        }

    events = [chunk([{"index": 0, "delta": d, "finish_reason": None}]) for d in deltas]
    events.append(chunk([{"index": 0, "delta": {}, "finish_reason": finish}]))
    if usage is not None:
        tokens = {"prompt_tokens": usage[0], "completion_tokens": usage[1]}
        events.append(chunk([], usage={**tokens, "total_tokens": sum(usage)}))
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return httpx.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})


def sse_text(text: str) -> httpx.Response:
    """A streamed completion that answers ``text`` and stops."""
    return sse({"role": "assistant", "content": text}, finish="stop")
