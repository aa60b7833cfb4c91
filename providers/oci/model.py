"""``OCIModel``: OCI Generative AI chat through the official ``oci`` SDK."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

from oci.generative_ai_inference import models

from locus.errors import ConfigurationError, ModelProviderError
from locus.models.base import Model, ModelRequest, ModelResponse, StreamItem, TextDelta
from locus.models.guard import check_allow_model_requests
from locus.models.retry import RetryPolicy, call_with_retries

from .auth import resolve_auth
from .client import ClientPool, resolve_endpoint
from .errors import error_classifier
from .formats import chat_format_for, serving_mode_for

__all__ = ["COMPARTMENT_ENV", "DEFAULT_TIMEOUT", "OCIModel"]

COMPARTMENT_ENV = "OCI_COMPARTMENT_ID"

#: Seconds one attempt may wait to connect, and between two reads, unless overridden.
DEFAULT_TIMEOUT = 60.0


class OCIModel(Model):
    """A chat model hosted on OCI Generative AI.

    ``cohere.*`` models speak the COHERE format unless ``api_format="COHEREV2"`` picks
    Cohere's V2 chat API; all others (``meta.*``, ``openai.*``, ``xai.*``, ...) the
    GENERIC one. The SDK's calls block, so each runs in a worker
    thread; its own retries are off and ``retry`` decides instead.

    Args:
        model_id: e.g. ``"meta.llama-3.3-70b-instruct"``, ``"cohere.command-r-plus"``, a
            model OCID, or a dedicated endpoint OCID.
        compartment_id: defaults to ``$OCI_COMPARTMENT_ID``.
        auth: ``"api_key"``, ``"security_token"``, ``"instance_principal"`` or
            ``"resource_principal"``; defaults to ``$OCI_AUTH``, else the profile decides.
        config_file: defaults to ``$OCI_CONFIG_FILE``, else ``~/.oci/config``.
        profile: defaults to ``$OCI_CONFIG_PROFILE``, else ``DEFAULT``.
        region: overrides the profile's region (also ``$OCI_REGION``).
        service_endpoint: defaults to ``$OCI_GENAI_ENDPOINT``, else the region's endpoint.
        timeout: seconds to connect and between reads; ``settings.timeout`` overrides it.
        retry: the retry policy; defaults to ``RetryPolicy()``.
        api_format: ``"GENERIC"``, ``"COHERE"`` or ``"COHEREV2"`` (the SDK's
            ``BaseChatRequest.API_FORMAT_*`` values, in any case); needed for Cohere V2
            and for ids that do not name the vendor.

    Raises:
        ConfigurationError: for a missing compartment, unusable credentials (the file,
            profile or variable at fault is named), a bad endpoint or option.
    """

    def __init__(
        self,
        model_id: str,
        *,
        compartment_id: str | None = None,
        auth: str | None = None,
        config_file: str | None = None,
        profile: str | None = None,
        region: str | None = None,
        service_endpoint: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        api_format: str | None = None,
    ) -> None:
        if not model_id or not model_id.strip():
            raise ConfigurationError(
                "OCIModel needs a model id, e.g. 'meta.llama-3.3-70b-instruct'"
            )
        if timeout <= 0:
            raise ConfigurationError(f"timeout must be positive seconds, got {timeout}")
        self.model_id = model_id.strip()
        self.name = f"oci:{self.model_id}"
        self.format = chat_format_for(self.model_id, api_format)
        self.compartment_id = compartment_id or os.environ.get(COMPARTMENT_ENV) or ""
        if not self.compartment_id:
            raise ConfigurationError(
                f"no OCI compartment for {self.name}: set {COMPARTMENT_ENV} or pass compartment_id="
            )
        self.timeout = timeout
        self.retry = retry if retry is not None else RetryPolicy()
        self._auth = resolve_auth(
            auth=auth, config_file=config_file, profile=profile, region=region
        )
        self.region: str | None = self._auth.config.get("region")
        self.endpoint = resolve_endpoint(service_endpoint, self._auth)
        self._clients = ClientPool(self._auth, self.endpoint)
        self._serving_mode = serving_mode_for(self.model_id)
        self._classify = error_classifier(self.name)

    def __repr__(self) -> str:
        return f"OCIModel({self.model_id!r}, format={self.format.name!r}, auth={self._auth!r})"

    def _details(self, request: ModelRequest, *, stream: bool) -> Any:
        return models.ChatDetails(
            compartment_id=self.compartment_id,
            serving_mode=self._serving_mode,
            chat_request=self.format.build_request(request, stream=stream),
        )

    async def _open(self, request: ModelRequest, *, stream: bool) -> Any:
        """Send the chat call off the event loop, under the retry policy."""
        check_allow_model_requests(self.name)
        details = self._details(request, stream=stream)
        client = self._clients.get(request.settings.timeout or self.timeout)

        async def attempt() -> Any:
            return await asyncio.to_thread(client.chat, details)

        response = await call_with_retries(
            attempt, policy=self.retry, classify=self._classify, provider=self.name
        )
        return response.data

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Send one chat request and return the whole reply.

        Raises:
            ConfigurationError: when real model requests are switched off, or for an
                ``extra`` setting the request format does not have.
            ModelProviderError: (a subclass of) when the call fails after retries.
        """
        data = await self._open(request, stream=False)
        return self._parse_result(data)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        """Stream one reply: ``TextDelta``s as events arrive, then one ``ModelResponse``.

        Opening the stream is retried like ``request``; a failure once events flow is
        raised at once. Each read of the event stream also runs off the event loop.

        Raises:
            ConfigurationError: when real model requests are switched off.
            ModelProviderError: (a subclass of) when the call fails.
        """
        data = await self._open(request, stream=True)
        if not hasattr(data, "events"):
            # The service may answer a streaming request with one JSON body.
            response = self._parse_result(data)
            if response.message.content:
                yield TextDelta(text=response.message.content)
            yield response
            return
        assembler = self.format.stream_assembler(model_name=self.name)
        events: Iterator[Any] = data.events()
        try:
            while True:
                try:
                    event = await asyncio.to_thread(next, events, None)
                except Exception as exc:
                    mapped = self._classify(exc)
                    if mapped is None:
                        raise
                    raise mapped from exc
                if event is None:
                    break
                payload = self._decode(event.data)
                if payload is None:
                    continue
                delta = assembler.add(payload)
                if delta is not None:
                    yield delta
        finally:
            data.close()
        yield assembler.response()

    def _parse_result(self, data: Any) -> ModelResponse:
        chat_response = getattr(data, "chat_response", None)
        if chat_response is None:
            raise ModelProviderError(
                f"{self.name}: the service answered without a chat response", provider="oci"
            )
        return self.format.parse_response(chat_response, model_name=self.name)

    def _decode(self, data: str) -> dict[str, Any] | None:
        if not data.strip() or data.strip() == "[DONE]":
            return None
        try:
            payload = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ModelProviderError(
                f"{self.name}: a stream event is not JSON ({exc.msg})", provider="oci"
            ) from exc
        if not isinstance(payload, dict):
            raise ModelProviderError(
                f"{self.name}: a stream event is a JSON {type(payload).__name__}, not an object",
                provider="oci",
            )
        return payload
