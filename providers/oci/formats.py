"""Which chat format a model speaks (by its id, or as asked), and the serving mode that
names it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from oci.generative_ai_inference import models

from locus.errors import ConfigurationError
from locus.models.base import ModelRequest, ModelResponse, TextDelta

from .cohere import CohereStream, build_cohere_request, parse_cohere_response
from .cohere_v2 import CohereV2Stream, build_cohere_v2_request, parse_cohere_v2_response
from .generic import GenericStream, build_generic_request, parse_generic_response

__all__ = ["ApiFormat", "ChatFormat", "StreamAssembler", "chat_format_for", "serving_mode_for"]

#: The request formats of the OCI chat API, named as the SDK's ``API_FORMAT_*`` constants.
ApiFormat = Literal["generic", "cohere", "coherev2"]

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
COHEREV2 = ChatFormat("coherev2", build_cohere_v2_request, parse_cohere_v2_response, CohereV2Stream)

_FORMATS: dict[str, ChatFormat] = {f.name: f for f in (GENERIC, COHERE, COHEREV2)}


def chat_format_for(model_id: str, api_format: str | None = None) -> ChatFormat:
    """COHERE for ``cohere.*`` model ids, GENERIC for every other; ``api_format`` overrides.

    ``api_format`` takes the SDK's names (``BaseChatRequest.API_FORMAT_*``), in any case:
    ``"GENERIC"``, ``"COHERE"`` or ``"COHEREV2"``. Cohere's V2 chat API (Command A and
    later, needed for their reasoning and vision models) is chosen with
    ``api_format="COHEREV2"``. An OCID names no vendor, so for a fine-tuned model or a
    dedicated endpoint of a Cohere model pass the format too.

    Raises:
        ConfigurationError: for an ``api_format`` the chat API does not have.
    """
    if api_format is not None:
        chosen = _FORMATS.get(api_format.strip().lower())
        if chosen is None:
            raise ConfigurationError(
                f"api_format must be one of {', '.join(repr(n.upper()) for n in _FORMATS)} "
                f"(the SDK's BaseChatRequest.API_FORMAT_* values), got {api_format!r}"
            )
        return chosen
    return COHERE if model_id.lower().startswith("cohere.") else GENERIC


def serving_mode_for(model_id: str) -> Any:
    """A dedicated serving mode for an endpoint OCID, on-demand for a model id or OCID."""
    if model_id.startswith(_ENDPOINT_OCID_PREFIX):
        return models.DedicatedServingMode(endpoint_id=model_id)
    return models.OnDemandServingMode(model_id=model_id)
