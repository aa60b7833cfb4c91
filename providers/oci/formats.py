"""Which chat format a model speaks, chosen by its id, and the serving mode that names it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from oci.generative_ai_inference import models

from locus.errors import ConfigurationError
from locus.models.base import ModelRequest, ModelResponse, TextDelta

from .cohere import CohereStream, build_cohere_request, parse_cohere_response
from .generic import GenericStream, build_generic_request, parse_generic_response

__all__ = ["ApiFormat", "ChatFormat", "StreamAssembler", "chat_format_for", "serving_mode_for"]

ApiFormat = Literal["generic", "cohere"]

#: An id of this shape names a dedicated AI cluster endpoint, not a model.
_ENDPOINT_OCID_PREFIX = "ocid1.generativeaiendpoint."


class StreamAssembler(Protocol):
    """Takes stream events one at a time; ends with the complete response."""

    def add(self, event: dict[str, Any]) -> TextDelta | None: ...

    def response(self) -> ModelResponse: ...


@dataclass(frozen=True)
class ChatFormat:
    """One request/response format of the OCI chat API."""

    name: ApiFormat
    build: Callable[..., Any]
    parse: Callable[..., ModelResponse]
    new_stream: Callable[..., StreamAssembler]

    def build_request(self, request: ModelRequest, *, stream: bool) -> Any:
        """The SDK chat-request model for ``request``."""
        return self.build(request, stream=stream)

    def parse_response(self, chat_response: Any, *, model_name: str) -> ModelResponse:
        """The SDK chat response as a ``ModelResponse``."""
        return self.parse(chat_response, model_name=model_name)

    def stream_assembler(self, *, model_name: str) -> StreamAssembler:
        """A fresh assembler for one streamed reply."""
        return self.new_stream(model_name=model_name)


GENERIC = ChatFormat("generic", build_generic_request, parse_generic_response, GenericStream)
COHERE = ChatFormat("cohere", build_cohere_request, parse_cohere_response, CohereStream)


def chat_format_for(model_id: str, api_format: str | None = None) -> ChatFormat:
    """COHERE for ``cohere.*`` model ids, GENERIC for every other; ``api_format`` overrides.

    An OCID names no vendor, so for a fine-tuned model or a dedicated endpoint of a Cohere
    model pass ``api_format="cohere"``.

    Raises:
        ConfigurationError: for an ``api_format`` other than "generic" or "cohere".
    """
    if api_format is not None:
        chosen = api_format.lower()
        if chosen not in ("generic", "cohere"):
            raise ConfigurationError(
                f"api_format must be 'generic' or 'cohere', got {api_format!r}"
            )
        return COHERE if chosen == "cohere" else GENERIC
    return COHERE if model_id.lower().startswith("cohere.") else GENERIC


def serving_mode_for(model_id: str) -> Any:
    """A dedicated serving mode for an endpoint OCID, on-demand for a model id or OCID."""
    if model_id.startswith(_ENDPOINT_OCID_PREFIX):
        return models.DedicatedServingMode(endpoint_id=model_id)
    return models.OnDemandServingMode(model_id=model_id)
