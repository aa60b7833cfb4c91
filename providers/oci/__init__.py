"""OCI Generative AI through the official ``oci`` SDK.

``infer_model("oci:meta.llama-3.3-70b-instruct")`` (or ``"oci:openai.gpt-4.1"``,
``"oci:cohere.command-r-plus"``) reaches ``create_model`` through the ``locus.providers``
entry point; importing this package imports the SDK.
"""

from __future__ import annotations

from typing import Any

try:
    import oci as _oci  # noqa: F401
except ModuleNotFoundError as exc:
    if exc.name != "oci":
        raise  # the SDK is there but something it needs is not: show the real error
    from locus.errors import MissingDependencyError

    raise MissingDependencyError(
        "the OCI provider needs the 'oci' SDK: pip install 'locus[oci]'"
    ) from exc

from .model import COMPARTMENT_ENV, DEFAULT_TIMEOUT, OCIModel

__all__ = ["COMPARTMENT_ENV", "DEFAULT_TIMEOUT", "OCIModel", "create_model"]


def create_model(model_id: str, **options: Any) -> OCIModel:
    """The ``locus.providers`` factory: ``OCIModel(model_id, **options)``.

    Raises:
        ConfigurationError: see ``OCIModel``.
    """
    return OCIModel(model_id, **options)
