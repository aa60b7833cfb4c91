"""The OpenAI SDK's exceptions, translated into the locus error tree."""

from __future__ import annotations

import sys

import httpx2
import openai
from pydantic import SecretStr

from locus.errors import (
    ModelProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from locus.models.retry import ErrorClassifier, error_for_status

from .._shared import redact

__all__ = ["error_classifier"]

PROVIDER = "openai"


def error_classifier(model_name: str, api_key: SecretStr) -> ErrorClassifier:
    """A classifier for ``call_with_retries`` that never lets ``api_key`` into a message."""

    def classify(exc: Exception) -> ModelProviderError | None:
        secrets = (api_key.get_secret_value(),)
        return classify_openai_error(exc, model_name=model_name, secrets=secrets)

    return classify


def classify_openai_error(
    exc: Exception, *, model_name: str, secrets: tuple[str, ...] = ()
) -> ModelProviderError | None:
    """The locus error for an OpenAI SDK (or httpx transport) exception, else None.

    Status codes decide the class: 401/403 authentication, 429 rate limit (or quota
    exceeded, for ``insufficient_quota``), 400/404/409/422 bad request, 5xx unavailable.
    Connection failures are "unavailable", timeouts "timeout".
    The SDK exception, which the locus error chains as its cause, is scrubbed of
    ``secrets`` too, so a logged traceback cannot show them either.
    """
    _scrub(exc, secrets)
    if isinstance(exc, openai.APITimeoutError) or _is_transport_timeout(exc):
        return ProviderTimeoutError(f"{model_name}: the request timed out", provider=PROVIDER)
    if isinstance(exc, openai.APIConnectionError) or _is_transport_error(exc):
        detail = redact(str(exc), secrets)
        return ProviderUnavailableError(
            f"{model_name}: could not reach the server ({detail})",
            provider=PROVIDER,
            provider_message=detail,
        )
    if isinstance(exc, openai.APIStatusError):
        return _from_status(exc, model_name=model_name, secrets=secrets)
    if isinstance(exc, openai.APIError):
        # An error event inside a stream: no status code, but the server's message.
        detail = redact(exc.message, secrets)
        return ModelProviderError(
            f"{model_name}: {detail}", provider=PROVIDER, provider_message=detail
        )
    return None


def _from_status(
    exc: openai.APIStatusError, *, model_name: str, secrets: tuple[str, ...]
) -> ModelProviderError:
    return error_for_status(
        exc.status_code,
        redact(_provider_message(exc), secrets),
        model_name=model_name,
        provider=PROVIDER,
        headers=dict(exc.response.headers),
        code=_error_code(exc),
    )


def _error_code(exc: openai.APIStatusError) -> str | None:
    """The error's ``code`` (``"insufficient_quota"``...); some servers only send ``type``."""
    for value in (exc.code, exc.type):
        if isinstance(value, str) and value:
            return value
    return None


def _scrub(exc: Exception, secrets: tuple[str, ...]) -> None:
    """Redact secrets from the SDK exception's text, in place (servers may echo a key)."""
    exc.args = tuple(redact(arg, secrets) if isinstance(arg, str) else arg for arg in exc.args)
    if isinstance(exc, openai.APIError):
        exc.message = redact(exc.message, secrets)
        exc.body = _scrub_body(exc.body, secrets)


def _scrub_body(body: object, secrets: tuple[str, ...]) -> object:
    if isinstance(body, str):
        return redact(body, secrets)
    if isinstance(body, dict):
        return {key: _scrub_body(value, secrets) for key, value in body.items()}
    if isinstance(body, list):
        return [_scrub_body(item, secrets) for item in body]
    return body


def _provider_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        # The SDK unwraps {"error": {...}} into body; servers differ in what they send.
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return exc.message


def _is_transport_timeout(exc: Exception) -> bool:
    if isinstance(exc, httpx2.TimeoutException):
        return True
    httpx = sys.modules.get("httpx")
    return httpx is not None and isinstance(exc, httpx.TimeoutException)


def _is_transport_error(exc: Exception) -> bool:
    if isinstance(exc, httpx2.TransportError):
        return True
    httpx = sys.modules.get("httpx")
    return httpx is not None and isinstance(exc, httpx.TransportError)
