"""One contract, every provider: the same test bodies run on OpenAI and OCI.

Each harness drives the real SDK over HTTP (respx for OpenAI, a 127.0.0.1 service for
OCI) and scripts the replies in the provider's own wire format.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol

import httpx
import pytest
import respx

from locus.core.messages import Message
from locus.errors import ProviderAuthenticationError, ProviderUnavailableError
from locus.models.base import Model, ModelRequest, ModelResponse, TextDelta
from locus.models.retry import RetryPolicy
from locus_providers.oci import OCIModel
from locus_providers.openai import OpenAIModel

REQUEST = ModelRequest(messages=(Message.user("Hello"),))


class Harness(Protocol):
    model: Model

    def reply_text(self, text: str) -> None: ...

    def reply_stream(self, *parts: str) -> None: ...

    def reply_status(self, status: int, retry_after: str | None = None) -> None: ...

    def requests_sent(self) -> int: ...


class OpenAIHarness:
    def __init__(self, router: respx.MockRouter, client: httpx.AsyncClient, retry: RetryPolicy):
        self._replies: list[httpx.Response] = []
        self._route = router.post("/chat/completions").mock(side_effect=self._next_reply)
        self.model = OpenAIModel(
            "gpt-4.1", api_key="sk-contract-test", base_url=BASE, http_client=client, retry=retry
        )

    def _next_reply(self, request: httpx.Request) -> httpx.Response:
        return self._replies.pop(0)

    @staticmethod
    def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4.1",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def reply_text(self, text: str) -> None:
        body = {
            "id": "c",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4.1",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
        }
        self._replies.append(httpx.Response(200, json=body))

    def reply_stream(self, *parts: str) -> None:
        events = [self._chunk({"content": part}) for part in parts] + [self._chunk({}, "stop")]
        body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        self._replies.append(
            httpx.Response(
                200, content=body.encode(), headers={"content-type": "text/event-stream"}
            )
        )

    def reply_status(self, status: int, retry_after: str | None = None) -> None:
        headers = {"retry-after": retry_after} if retry_after else {}
        self._replies.append(
            httpx.Response(status, json={"error": {"message": f"status {status}"}}, headers=headers)
        )

    def requests_sent(self) -> int:
        return self._route.call_count


class OCIHarness:
    def __init__(self, service: Any, oci_files: Any, retry: RetryPolicy) -> None:
        self._service = service
        self.model = OCIModel(
            "meta.llama-3.3-70b-instruct",
            compartment_id="ocid1.compartment.oc1..aaaaaaaacontract",
            config_file=str(oci_files.config_file),
            service_endpoint=service.endpoint,
            retry=retry,
            timeout=10.0,
        )

    def reply_text(self, text: str) -> None:
        self._service.reply_json(
            {
                "modelId": "meta.llama-3.3-70b-instruct",
                "modelVersion": "1",
                "chatResponse": {
                    "apiFormat": "GENERIC",
                    "timeCreated": "2026-01-01T00:00:00.000Z",
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "ASSISTANT",
                                "content": [{"type": "TEXT", "text": text}],
                            },
                            "finishReason": "stop",
                        }
                    ],
                },
            }
        )

    def reply_stream(self, *parts: str) -> None:
        events: list[dict[str, Any]] = [
            {"index": 0, "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": p}]}}
            for p in parts
        ]
        self._service.reply_events(*events, {"index": 0, "finishReason": "stop"})

    def reply_status(self, status: int, retry_after: str | None = None) -> None:
        headers = {"retry-after": retry_after} if retry_after else {}
        self._service.reply_error(status, "Error", f"status {status}", **headers)

    def requests_sent(self) -> int:
        return len(self._service.requests)


BASE = "https://contract.test/v1"


@pytest.fixture
def respx_router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE) as router:
        yield router


@pytest.fixture(params=["openai", "oci"])
def harness(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    retry_policy: RetryPolicy,
    http_client: httpx.AsyncClient,
) -> Harness:
    if request.param == "openai":
        return OpenAIHarness(request.getfixturevalue("respx_router"), http_client, retry_policy)
    for name in ("OCI_AUTH", "OCI_REGION", "OCI_GENAI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    return OCIHarness(
        request.getfixturevalue("genai_service"),
        request.getfixturevalue("oci_files"),
        retry_policy,
    )


async def test_request_returns_the_reply_named_for_the_model(harness: Harness) -> None:
    harness.reply_text("Hi!")

    response = await harness.model.request(REQUEST)

    assert response.message == Message.assistant("Hi!")
    assert response.model_name == harness.model.name


async def test_stream_yields_deltas_then_exactly_one_response_with_their_text(
    harness: Harness,
) -> None:
    harness.reply_stream("One, ", "two, ", "three.")

    items = [item async for item in harness.model.stream(REQUEST)]

    *deltas, final = items
    assert all(isinstance(item, TextDelta) for item in deltas)
    assert isinstance(final, ModelResponse)
    assert final.message.content == "One, two, three." == "".join(d.text for d in deltas)


async def test_rate_limit_waits_for_retry_after_then_succeeds(
    harness: Harness, sleeps: list[float]
) -> None:
    harness.reply_status(429, retry_after="2")
    harness.reply_text("after the wait")

    response = await harness.model.request(REQUEST)

    assert response.message.content == "after the wait"
    assert harness.requests_sent() == 2
    assert sleeps == [2.0]


async def test_server_errors_retry_until_the_attempts_run_out(
    harness: Harness, sleeps: list[float]
) -> None:
    for _ in range(3):
        harness.reply_status(503)

    with pytest.raises(ProviderUnavailableError) as raised:
        await harness.model.request(REQUEST)

    assert raised.value.status_code == 503
    assert harness.requests_sent() == 3
    assert sleeps == [0.25, 0.5]


async def test_authentication_failure_is_raised_at_once(
    harness: Harness, sleeps: list[float]
) -> None:
    harness.reply_status(401)

    with pytest.raises(ProviderAuthenticationError) as raised:
        await harness.model.request(REQUEST)

    assert raised.value.status_code == 401
    assert raised.value.provider_message == "status 401"
    assert harness.requests_sent() == 1
    assert sleeps == []
