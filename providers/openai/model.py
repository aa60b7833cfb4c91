"""``OpenAIModel``: chat completions through the official ``openai`` SDK."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

from openai import AsyncStream
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from locus.errors import ConfigurationError, ModelProviderError
from locus.models.base import Model, ModelRequest, ModelResponse, StreamItem
from locus.models.guard import check_allow_model_requests
from locus.models.retry import ErrorClassifier, RetryPolicy, call_with_retries

from .client import (
    ClientPerLoop,
    build_client,
    check_http_client,
    resolve_api_key,
    resolve_base_url,
)
from .convert import MaxTokensParam, request_params, response_from_completion
from .errors import error_classifier
from .streaming import StreamAssembler

__all__ = ["DEFAULT_TIMEOUT", "OpenAIModel"]

#: Seconds one attempt may take unless the request's settings say otherwise.
DEFAULT_TIMEOUT = 60.0


class OpenAIModel(Model):
    """A chat model served by OpenAI or any OpenAI-compatible server (vLLM, Ollama, ...).

    The SDK's own retries are off; ``retry`` decides instead (429, 5xx, connection errors
    and timeouts are retried, other errors never). The API key is held by the SDK client
    only and never appears in ``repr``, error messages or logs.

    Args:
        model_id: the model to ask for, e.g. ``"gpt-4.1"``.
        api_key: defaults to ``$OPENAI_API_KEY``.
        base_url: defaults to ``$OPENAI_BASE_URL``, else OpenAI's API.
        timeout: seconds per attempt; a request's ``settings.timeout`` overrides it.
        retry: the retry policy; defaults to ``RetryPolicy()``.
        http_client: an ``httpx.AsyncClient`` (or ``httpx2.AsyncClient``) to send with.
        max_tokens_param: the request field for ``settings.max_tokens``; OpenAI's reasoning
            models need ``"max_completion_tokens"``.

    Raises:
        ConfigurationError: for an empty model id, a missing API key, a malformed base
            URL, a non-positive timeout or an unusable ``http_client``.
    """

    def __init__(
        self,
        model_id: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        http_client: Any | None = None,
        max_tokens_param: MaxTokensParam = "max_tokens",
    ) -> None:
        if not model_id or not model_id.strip():
            raise ConfigurationError("OpenAIModel needs a model id, e.g. 'gpt-4.1'")
        if timeout <= 0:
            raise ConfigurationError(f"timeout must be positive seconds, got {timeout}")
        self.model_id = model_id.strip()
        self.name = f"openai:{self.model_id}"
        self.timeout = timeout
        self.retry = retry if retry is not None else RetryPolicy()
        self.max_tokens_param: MaxTokensParam = max_tokens_param
        key = resolve_api_key(api_key)
        self.base_url = resolve_base_url(base_url)
        if http_client is not None:
            check_http_client(http_client)
        self._clients = ClientPerLoop(
            functools.partial(
                build_client,
                api_key=key,
                base_url=self.base_url,
                timeout=timeout,
                http_client=http_client,
            ),
            injected=http_client is not None,
        )
        self._classify = error_classifier(self.name, key)

    def __repr__(self) -> str:
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"OpenAIModel({self.model_id!r}{where})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Send one chat-completions request and return the whole reply.

        Raises:
            ConfigurationError: when real model requests are switched off.
            ModelProviderError: (a subclass of) when the call fails after retries.
        """
        check_allow_model_requests(self.name)
        params = request_params(self.model_id, request, max_tokens_param=self.max_tokens_param)
        timeout = request.settings.timeout or self.timeout

        async def attempt() -> ChatCompletion:
            # **params hides the overload from mypy; stream=False picks ChatCompletion.
            completion: ChatCompletion = await self._clients.get().chat.completions.create(
                **params, stream=False, timeout=timeout
            )
            return completion

        completion = await call_with_retries(
            attempt, policy=self.retry, classify=self._classify, provider=self.name
        )
        return response_from_completion(completion, model_name=self.name)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        """Stream one reply: ``TextDelta``s as text arrives, then one ``ModelResponse``.

        Opening the stream is retried like ``request``; a failure after text has been
        yielded is raised at once, since a retry would repeat that text.

        Raises:
            ConfigurationError: when real model requests are switched off.
            ModelProviderError: (a subclass of) when the call fails.
        """
        check_allow_model_requests(self.name)
        params = request_params(self.model_id, request, max_tokens_param=self.max_tokens_param)
        timeout = request.settings.timeout or self.timeout

        async def attempt() -> AsyncStream[ChatCompletionChunk]:
            opened: AsyncStream[
                ChatCompletionChunk
            ] = await self._clients.get().chat.completions.create(
                **params,
                stream=True,
                stream_options={"include_usage": True},
                timeout=timeout,
            )
            return opened

        chunks = await call_with_retries(
            attempt, policy=self.retry, classify=self._classify, provider=self.name
        )
        assembler = StreamAssembler(model_name=self.name)
        try:
            async for chunk in _mapped(chunks, self._classify):
                delta = assembler.add(chunk)
                if delta is not None:
                    yield delta
        finally:
            await chunks.close()
        yield assembler.response()


async def _mapped(
    chunks: AsyncStream[ChatCompletionChunk],
    classify: ErrorClassifier,
) -> AsyncIterator[ChatCompletionChunk]:
    """Iterate ``chunks``, turning SDK and transport errors into locus errors."""
    iterator = chunks.__aiter__()
    while True:
        try:
            chunk = await iterator.__anext__()
        except StopAsyncIteration:
            return
        except ModelProviderError:
            raise
        except Exception as exc:
            mapped = classify(exc)
            if mapped is None:
                raise
            raise mapped from exc
        yield chunk
