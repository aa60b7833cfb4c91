"""``from_env()``: the model the environment names, for scripts that run on any provider.

* ``LOCUS_MODEL_PROVIDER``: ``mock``, ``oci`` or ``openai`` (any case). Unset: the
  provider ``LOCUS_MODEL`` names as its prefix if it has one, else ``oci`` when an OCI
  config file exists (``OCI_CONFIG_FILE``, else ``~/.oci/config``), else ``mock``.
* ``LOCUS_MODEL``: the model id (``gpt-4.1-mini``, ``meta.llama-3.3-70b-instruct``, a mock
  label...), with or without its ``provider:`` prefix; unset, the provider's default in
  ``DEFAULT_MODELS``.

Credentials are checked before anything is built, and a missing one is named exactly:
``openai`` needs ``OPENAI_API_KEY``; ``oci`` needs its config file and
``OCI_COMPARTMENT_ID``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from locus.errors import ConfigurationError
from locus.models.base import Model
from locus.models.registry import infer_model

__all__ = ["DEFAULT_MODELS", "PROVIDERS", "from_env", "model_string_from_env"]

#: The values ``LOCUS_MODEL_PROVIDER`` may take.
PROVIDERS = ("mock", "oci", "openai")

#: The model each provider uses when ``LOCUS_MODEL`` is unset.
DEFAULT_MODELS: Mapping[str, str] = {
    "mock": "default",
    "oci": "meta.llama-3.3-70b-instruct",
    "openai": "gpt-4.1-mini",
}


def from_env(environ: Mapping[str, str] | None = None, **options: Any) -> Model:
    """The model ``LOCUS_MODEL_PROVIDER`` and ``LOCUS_MODEL`` name (see the module).

    Args:
        environ: where to read the variables; ``os.environ`` when not given.
        **options: passed to the provider (``timeout=``, ``retry=``, ...), as with
            ``infer_model``.

    Raises:
        ConfigurationError: for an unknown provider, a ``LOCUS_MODEL`` whose prefix names
            another provider, or a provider whose credentials are missing (the message
            names the variable or file).
        MissingDependencyError: when the provider's SDK is not installed (names the extra).
    """
    return infer_model(model_string_from_env(environ), **options)


def model_string_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The ``"provider:model"`` string the environment selects, after checking credentials.

    Raises:
        ConfigurationError: as ``from_env`` does.
    """
    env = os.environ if environ is None else environ
    raw = env.get("LOCUS_MODEL_PROVIDER", "").strip()
    model = env.get("LOCUS_MODEL", "").strip()
    prefix, sep, rest = model.partition(":")
    named = prefix.lower() if sep and prefix.lower() in PROVIDERS else None
    provider = raw.lower() or named or ("oci" if _oci_config_file(env).is_file() else "mock")
    if provider not in PROVIDERS:
        close = difflib.get_close_matches(provider, PROVIDERS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigurationError(
            f"LOCUS_MODEL_PROVIDER={raw!r} is not one of {', '.join(PROVIDERS)}{hint}"
        )
    if named is not None and named != provider:
        raise ConfigurationError(
            f"LOCUS_MODEL={model!r} names provider {named!r} but LOCUS_MODEL_PROVIDER is "
            f"{raw!r}; drop the prefix or make the two agree"
        )
    model_id = (rest if named else model) or DEFAULT_MODELS[provider]
    _check_credentials(provider, env)
    return f"{provider}:{model_id}"


def _check_credentials(provider: str, env: Mapping[str, str]) -> None:
    if provider == "openai" and not env.get("OPENAI_API_KEY", "").strip():
        raise ConfigurationError(
            "LOCUS_MODEL_PROVIDER=openai needs the OPENAI_API_KEY environment variable, "
            "which is not set"
        )
    if provider == "oci":
        config_file = _oci_config_file(env)
        if not config_file.is_file():
            source = "OCI_CONFIG_FILE" if env.get("OCI_CONFIG_FILE") else "the default path"
            raise ConfigurationError(
                f"LOCUS_MODEL_PROVIDER=oci needs an OCI config file, and {config_file} "
                f"({source}) does not exist; set OCI_CONFIG_FILE or create ~/.oci/config"
            )
        if not env.get("OCI_COMPARTMENT_ID", "").strip():
            raise ConfigurationError(
                "LOCUS_MODEL_PROVIDER=oci needs the OCI_COMPARTMENT_ID environment variable "
                "(the compartment OCID to bill Generative AI calls to), which is not set"
            )


def _oci_config_file(env: Mapping[str, str]) -> Path:
    configured = env.get("OCI_CONFIG_FILE", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".oci" / "config"
