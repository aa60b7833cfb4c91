"""Examples harness: ``get_model()`` picks the model the environment names.

A thin wrapper kept for scripts that run from the repository root and write
``from config import get_model`` (the seed notebooks do). The logic lives in the library,
``locus.models.from_env()``, which is what the examples and installed code use; see it for
``LOCUS_MODEL_PROVIDER`` and ``LOCUS_MODEL``. The library never imports this module.
"""

from __future__ import annotations

from locus.models import Model, from_env
from locus.models.env import DEFAULT_MODELS, PROVIDERS
from locus.models.env import model_string_from_env as resolve_model_string

__all__ = ["DEFAULT_MODELS", "PROVIDERS", "get_model", "resolve_model_string"]


def get_model() -> Model:
    """The model ``LOCUS_MODEL_PROVIDER`` and ``LOCUS_MODEL`` name: ``from_env()``.

    Raises:
        ConfigurationError: for an unknown provider, or a provider whose credentials are
            missing (the message names the variable or file).
        MissingDependencyError: when the provider's SDK is not installed.
    """
    return from_env()
