"""Model strings parsed in one place: ``"mock"``, ``"mock:<name>"``, ``"<provider>:<model>"``.

Provider adapters live outside the library (``providers/``) and are found through the
``locus.providers`` entry-point group, so locus never imports an SDK until a model string
asks for it. Each entry point is a callable ``create_model(model_id, **options) -> Model``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from locus.errors import ConfigurationError, MissingDependencyError, UnknownModelError
from locus.models.base import Model

__all__ = ["ModelFactory", "available_providers", "infer_model"]

ModelFactory = Callable[..., Model]

#: The extra that installs each known provider's SDK, and the SDK's top-level module.
_EXTRAS = {"openai": "openai", "oci": "oci"}
_SDKS = {"openai": "openai", "oci": "oci"}


@lru_cache(maxsize=1)
def _provider_entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group="locus.providers")}


def available_providers() -> list[str]:
    """Names usable as a model-string prefix, ``"mock"`` included."""
    return sorted({"mock", *_provider_entry_points()})


def infer_model(model: str | Model, **options: Any) -> Model:
    """Return ``model`` itself, or the model a ``"provider:model"`` string names.

    Args:
        model: a ``Model`` instance, ``"mock"``, ``"mock:<name>"``, ``"openai:<model>"``,
            ``"oci:<model>"``, or the prefix of any installed ``locus.providers`` plugin.
        **options: passed to the provider's factory (``base_url=``, ``timeout=``, ...).

    Raises:
        UnknownModelError: for an empty string or an unknown prefix (with a suggestion).
        MissingDependencyError: when the provider's SDK is not installed; names the extra.
        ConfigurationError: when the provider's module fails to import for another reason
            (a broken install, a local module shadowing it); the message says which.
    """
    if isinstance(model, Model):
        return model
    if not isinstance(model, str) or not model.strip():
        raise UnknownModelError(
            f"model must be a Model or a 'provider:model' string, got {model!r}"
        )
    provider, _, model_id = model.strip().partition(":")
    if provider == "mock":
        from locus.models.mock import MockModel

        return MockModel(name=model_id or "default", **options)
    if not model_id:
        raise UnknownModelError(
            f"model string {model!r} names no model: write it as '{provider}:<model-id>'"
        )
    factory = _load_factory(provider, model)
    return factory(model_id, **options)


def _load_factory(provider: str, model: str) -> ModelFactory:
    entry = _provider_entry_points().get(provider)
    if entry is None:
        known = available_providers()
        close = difflib.get_close_matches(provider, known, n=1)
        hint = f" Did you mean '{close[0]}:'?" if close else ""
        raise UnknownModelError(
            f"unknown model provider {provider!r} in {model!r}; known providers: "
            f"{', '.join(known)}.{hint}"
        )
    try:
        factory: ModelFactory = entry.load()
    except MissingDependencyError:
        raise  # the adapter itself found its SDK missing, and says which extra to install
    except ImportError as exc:
        sdk = _SDKS.get(provider)
        if sdk is not None and _is_missing(exc, sdk):
            raise MissingDependencyError(
                f"model {model!r} needs the {provider!r} provider's SDK, which is not "
                f"installed ({exc}). Install it with: pip install 'locus[{_EXTRAS[provider]}]'"
            ) from exc
        # Not a missing SDK: a broken install, or a local module shadowing a package.
        raise ConfigurationError(
            f"model {model!r}: the {provider!r} provider ({entry.value}) failed to import: "
            f"{type(exc).__name__}: {exc}. Reinstall locus, or look for a file or folder "
            "of yours that shadows a module it imports"
        ) from exc
    return factory


def _is_missing(exc: ImportError, module: str) -> bool:
    """Whether ``exc`` says that ``module`` (or one of its submodules) is not installed."""
    name = exc.name or ""
    return isinstance(exc, ModuleNotFoundError) and (
        name == module or name.startswith(f"{module}.")
    )
