"""Building ``GenerativeAiInferenceClient``s: endpoint, timeout, SDK retries off."""

from __future__ import annotations

import os
import threading
from typing import Any

import oci
from oci.generative_ai_inference import GenerativeAiInferenceClient

from locus.errors import ConfigurationError

from .auth import REGION_ENV, OCIAuth

__all__ = ["ENDPOINT_ENV", "ClientPool", "resolve_endpoint"]

ENDPOINT_ENV = "OCI_GENAI_ENDPOINT"


def resolve_endpoint(service_endpoint: str | None, auth: OCIAuth) -> str | None:
    """The ``service_endpoint`` argument, else ``$OCI_GENAI_ENDPOINT``, else None (the
    SDK derives the regional endpoint from the config's region).

    Raises:
        ConfigurationError: when the URL is not http(s), or there is neither an endpoint
            nor a region.
    """
    endpoint = service_endpoint or os.environ.get(ENDPOINT_ENV) or None
    if endpoint is not None:
        if not endpoint.startswith(("http://", "https://")):
            source = "service_endpoint" if service_endpoint else ENDPOINT_ENV
            raise ConfigurationError(
                f"{source} must be an http:// or https:// URL, got {endpoint!r}"
            )
        return endpoint.rstrip("/")
    if not auth.config.get("region"):
        raise ConfigurationError(
            f"no OCI Generative AI endpoint: {auth.method} has no region; set {REGION_ENV}, "
            f"{ENDPOINT_ENV} or service_endpoint="
        )
    return None


class ClientPool:
    """One SDK client per timeout value, built on first use and shared afterwards.

    The SDK fixes a client's timeout when it is built, so a request with its own timeout
    gets (and keeps) a client of its own. Clients are safe to use from worker threads.
    """

    def __init__(self, auth: OCIAuth, endpoint: str | None) -> None:
        self._auth = auth
        self._endpoint = endpoint
        self._clients: dict[float, GenerativeAiInferenceClient] = {}
        self._lock = threading.Lock()

    def get(self, timeout: float) -> GenerativeAiInferenceClient:
        """The client whose connect and read timeouts are ``timeout`` seconds."""
        with self._lock:
            client = self._clients.get(timeout)
            if client is None:
                client = self._build(timeout)
                self._clients[timeout] = client
            return client

    def _build(self, timeout: float) -> GenerativeAiInferenceClient:
        kwargs: dict[str, Any] = {
            "signer": self._auth.signer,
            # locus retries (one policy for every provider); the SDK must not as well, and
            # its circuit breaker would refuse calls our policy still means to make.
            "retry_strategy": oci.retry.NoneRetryStrategy(),
            "circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy(),
            "timeout": (timeout, timeout),
        }
        if self._endpoint is not None:
            kwargs["service_endpoint"] = self._endpoint
        return GenerativeAiInferenceClient(dict(self._auth.config), **kwargs)
