"""Token usage as OCI reports it, in every chat format: SDK objects and stream events."""

from __future__ import annotations

from typing import Any

from locus.core.messages import Usage

__all__ = ["usage_from_event", "usage_from_sdk"]


def usage_from_sdk(raw: Any) -> Usage:
    """Usage from the SDK's ``Usage`` object (``prompt_tokens``...), zero when absent.

    Cached prompt tokens come from ``prompt_tokens_details.cached_tokens``, reasoning
    tokens from ``completion_tokens_details.reasoning_tokens``, when the model reports them.
    """
    if raw is None:
        return Usage()
    prompt_details = getattr(raw, "prompt_tokens_details", None)
    completion_details = getattr(raw, "completion_tokens_details", None)
    return Usage(
        input_tokens=raw.prompt_tokens or 0,
        output_tokens=raw.completion_tokens or 0,
        cached_input_tokens=getattr(prompt_details, "cached_tokens", None) or 0,
        reasoning_tokens=getattr(completion_details, "reasoning_tokens", None) or 0,
    )


def usage_from_event(event: dict[str, Any]) -> Usage | None:
    """Usage from a streamed event's ``usage`` (``promptTokens``...), or None if it has none."""
    usage = event.get("usage")
    if not isinstance(usage, dict):
        return None
    return Usage(
        input_tokens=_count(usage, "promptTokens"),
        output_tokens=_count(usage, "completionTokens"),
        cached_input_tokens=_count(usage.get("promptTokensDetails"), "cachedTokens"),
        reasoning_tokens=_count(usage.get("completionTokensDetails"), "reasoningTokens"),
    )


def _count(raw: object, key: str) -> int:
    """A token count from a JSON object, 0 when the object or the count is missing."""
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
