"""OpenAI (and OpenAI-compatible servers) through the official ``openai`` SDK.

``infer_model("openai:gpt-4.1")`` reaches ``create_model`` through the ``locus.providers``
entry point; importing this package imports the SDK.
"""

from __future__ import annotations

from typing import Any

try:
    import openai as _openai  # noqa: F401
except ModuleNotFoundError as exc:
    if exc.name != "openai":
        raise  # the SDK is there but something it needs is not: show the real error
    from locus.errors import MissingDependencyError

    raise MissingDependencyError(
        "the OpenAI provider needs the 'openai' SDK: pip install 'locus[openai]'"
    ) from exc

from .model import DEFAULT_TIMEOUT, OpenAIModel

__all__ = ["DEFAULT_TIMEOUT", "OpenAIModel", "create_model"]


def create_model(model_id: str, **options: Any) -> OpenAIModel:
    """The ``locus.providers`` factory: ``OpenAIModel(model_id, **options)``.

    Raises:
        ConfigurationError: see ``OpenAIModel``.
    """
    return OpenAIModel(model_id, **options)
