"""Requests and streams shared by the provider model tests."""

from __future__ import annotations

from typing import Any

from locus.core.messages import Message
from locus.models.base import Model, ModelRequest, ModelSettings


def ask(text: str, **settings: Any) -> ModelRequest:
    """A one-message user request with the given model settings."""
    return ModelRequest(messages=(Message.user(text),), settings=ModelSettings(**settings))


async def collect(model: Model, request: ModelRequest) -> list[Any]:
    """Everything ``model.stream(request)`` yields, in order."""
    return [item async for item in model.stream(request)]
