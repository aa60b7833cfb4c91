"""OpenAI's own response shapes for refusals, detailed usage and an exhausted quota.

The bodies below are what the chat-completions API sends (field for field, ids and
timestamps aside): the real ``openai`` SDK parses them after respx answers at the httpx
seam, and an ``Agent`` runs on top where the run's outcome is at stake.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from model_requests import ask

from locus.agent import Agent
from locus.core.events import ModelResponseEvent, TerminateEvent, TextDeltaEvent
from locus.errors import QuotaExceededError, RateLimitError
from locus.models.base import ModelResponse, TextDelta
from locus.models.retry import RetryPolicy
from locus_providers.openai import OpenAIModel

BASE_URL = "https://llm.test/v1"
REFUSAL = "I'm sorry, I can't help with that request."

#: A usage block as gpt-4o / o-series models report it, with the detail objects.
USAGE_WITH_DETAILS = {
    "prompt_tokens": 1117,
    "completion_tokens": 346,
    "total_tokens": 1463,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 320,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}

#: The body OpenAI sends with a 429 when the account has no credit left.
INSUFFICIENT_QUOTA = {
    "error": {
        "message": "You exceeded your current quota, please check your plan and billing "
        "details. For more information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors.",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }
}


def completion(message: dict[str, Any], usage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-9nYAG9LPNonX8DAyrkwYfemr3C8HC",
        "object": "chat.completion",
        "created": 1_721_596_428,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", **message},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage or {"prompt_tokens": 81, "completion_tokens": 11, "total_tokens": 92},
        "system_fingerprint": "fp_3407719c7f",
    }


def chunk(delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-9nYAG9LPNonX8DAyrkwYfemr3C8HC",
        "object": "chat.completion.chunk",
        "created": 1_721_596_428,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_3407719c7f",
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def sse(*events: dict[str, Any]) -> httpx.Response:
    lines = [f"data: {json.dumps(event)}\n\n" for event in events] + ["data: [DONE]\n\n"]
    return httpx.Response(
        200, content="".join(lines).encode(), headers={"content-type": "text/event-stream"}
    )


def refusal_stream() -> httpx.Response:
    """A refusal as OpenAI streams it: ``delta.refusal`` pieces, content null throughout."""
    usage = chunk(None)
    usage["usage"] = {"prompt_tokens": 81, "completion_tokens": 11, "total_tokens": 92}
    return sse(
        chunk({"role": "assistant", "content": None, "refusal": ""}),
        chunk({"refusal": "I'm sorry, "}),
        chunk({"refusal": "I can't help with "}),
        chunk({"refusal": "that request."}),
        chunk({}, finish="stop"),
        usage,
    )


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def model(retry_policy: RetryPolicy) -> AsyncIterator[OpenAIModel]:
    async with httpx.AsyncClient() as client:
        yield OpenAIModel(
            "gpt-4o",
            api_key="sk-test-shapes",
            base_url=BASE_URL,
            retry=retry_policy,
            http_client=client,
        )


# --- refusals -----------------------------------------------------------------------------


async def test_refusal_in_a_reply_is_a_refusal_not_an_empty_answer(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    api.post("/chat/completions").mock(
        return_value=httpx.Response(200, json=completion({"content": None, "refusal": REFUSAL}))
    )

    response = await model.request(ask("How do I pick a lock?"))

    assert response.finish_reason == "refusal"
    assert response.refusal == REFUSAL
    assert response.message.content == ""


async def test_streamed_refusal_is_assembled_and_never_streamed_as_answer_text(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    api.post("/chat/completions").mock(return_value=refusal_stream())

    items = [item async for item in model.stream(ask("How do I pick a lock?"))]

    assert not [item for item in items if isinstance(item, TextDelta)]
    response = items[-1]
    assert isinstance(response, ModelResponse)
    assert response.finish_reason == "refusal"
    assert response.refusal == REFUSAL
    assert response.message.content == ""


async def test_answer_without_refusal_keeps_its_finish_reason(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    api.post("/chat/completions").mock(
        return_value=httpx.Response(200, json=completion({"content": "Hi!", "refusal": None}))
    )

    response = await model.request(ask("Hello"))

    assert (response.finish_reason, response.refusal) == ("stop", None)


async def test_agent_run_that_the_model_refuses_ends_with_stop_reason_refusal(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    api.post("/chat/completions").mock(return_value=refusal_stream())
    agent = Agent(model=model, system_prompt="Be helpful.")

    result = await agent.arun("How do I pick a lock?")

    assert result.stop_reason == "refusal"
    assert result.refusal == REFUSAL
    assert (result.text, result.final_message) == ("", None)
    end = result.events[-1]
    assert isinstance(end, TerminateEvent)
    assert (end.stop_reason, end.refusal) == ("refusal", REFUSAL)
    [turn] = [e for e in result.events if isinstance(e, ModelResponseEvent)]
    assert (turn.finish_reason, turn.refusal) == ("refusal", REFUSAL)
    assert not [e for e in result.events if isinstance(e, TextDeltaEvent)]
    # The event log round-trips through JSON with the refusal in it.
    assert TerminateEvent.model_validate_json(end.model_dump_json()).refusal == REFUSAL


# --- usage details ------------------------------------------------------------------------


async def test_cached_and_reasoning_tokens_are_read_from_a_reply(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    api.post("/chat/completions").mock(
        return_value=httpx.Response(200, json=completion({"content": "42"}, USAGE_WITH_DETAILS))
    )

    response = await model.request(ask("The answer?"))

    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens) == (1117, 346)
    assert (usage.cached_input_tokens, usage.reasoning_tokens) == (1024, 320)


async def test_cached_and_reasoning_tokens_are_read_from_a_stream_and_summed_by_the_agent(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    usage = chunk(None)
    usage["usage"] = USAGE_WITH_DETAILS
    api.post("/chat/completions").mock(
        side_effect=[
            sse(chunk({"role": "assistant", "content": "42"}), chunk({}, "stop"), usage),
            sse(chunk({"role": "assistant", "content": "43"}), chunk({}, "stop"), usage),
        ]
    )
    agent = Agent(model=model)

    first = await agent.arun("The answer?")
    second = await agent.arun("And then?", history=first.messages)

    for run in (first, second):
        assert (run.usage.cached_input_tokens, run.usage.reasoning_tokens) == (1024, 320)
    total = first.usage + second.usage
    assert (total.input_tokens, total.output_tokens) == (2234, 692)
    assert (total.cached_input_tokens, total.reasoning_tokens) == (2048, 640)


async def test_usage_without_details_counts_no_cached_or_reasoning_tokens(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    api.post("/chat/completions").mock(
        return_value=httpx.Response(200, json=completion({"content": "ok"}))
    )

    response = await model.request(ask("Hi"))

    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens) == (81, 11)
    assert (usage.cached_input_tokens, usage.reasoning_tokens) == (0, 0)


# --- insufficient quota -------------------------------------------------------------------


async def test_insufficient_quota_is_raised_at_once_and_never_retried(
    api: respx.MockRouter, model: OpenAIModel, sleeps: list[float]
) -> None:
    route = api.post("/chat/completions").mock(
        return_value=httpx.Response(429, json=INSUFFICIENT_QUOTA)
    )

    with pytest.raises(QuotaExceededError) as raised:
        await model.request(ask("Hi"))

    assert route.call_count == 1
    assert sleeps == []
    assert not isinstance(raised.value, RateLimitError)
    assert raised.value.status_code == 429
    assert "You exceeded your current quota" in str(raised.value)
    assert raised.value.provider_message == INSUFFICIENT_QUOTA["error"]["message"]


async def test_insufficient_quota_when_opening_a_stream_is_never_retried(
    api: respx.MockRouter, model: OpenAIModel, sleeps: list[float]
) -> None:
    route = api.post("/chat/completions").mock(
        return_value=httpx.Response(429, json=INSUFFICIENT_QUOTA)
    )

    with pytest.raises(QuotaExceededError, match="quota exceeded"):
        [item async for item in model.stream(ask("Hi"))]

    assert route.call_count == 1
    assert sleeps == []


async def test_a_plain_rate_limit_is_still_retried(
    api: respx.MockRouter, model: OpenAIModel, sleeps: list[float]
) -> None:
    rate_limited = {
        "error": {
            "message": "Rate limit reached for gpt-4o on requests per min (RPM): Limit 500.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    route = api.post("/chat/completions").mock(
        side_effect=[
            httpx.Response(429, json=rate_limited),
            httpx.Response(200, json=completion({"content": "ok"})),
        ]
    )

    response = await model.request(ask("Hi"))

    assert response.message.content == "ok"
    assert route.call_count == 2
    assert sleeps == [0.25]
