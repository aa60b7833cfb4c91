"""OCIModel driving the real ``oci`` SDK against a local HTTP service on 127.0.0.1.

Each request is signed with a throwaway RSA key named by a throwaway config file; the
fake service checks nothing itself, so the tests assert on what it recorded.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from model_requests import ask, collect

from locus.core.messages import Message, ToolCall, Usage
from locus.errors import (
    BadRequestError,
    ConfigurationError,
    ProviderAuthenticationError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
)
from locus.models import guard
from locus.models.base import ModelRequest, ModelResponse, ModelSettings, TextDelta, ToolSpec
from locus.models.retry import RetryPolicy
from locus_providers.oci import OCIModel

pytestmark = pytest.mark.usefixtures("clean_oci_environment")

COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaatestcompartment"
CHAT_PATH = "/20231130/actions/chat"

WEATHER_TOOL = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
)


# --- the service's JSON shapes ------------------------------------------------------------


def generic_result(
    text: str = "Hello!",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish: str = "stop",
    model_id: str = "meta.llama-3.3-70b-instruct",
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": text}]}
    if tool_calls:
        message["toolCalls"] = tool_calls
    return {
        "modelId": model_id,
        "modelVersion": "1.0.0",
        "chatResponse": {
            "apiFormat": "GENERIC",
            "timeCreated": "2026-01-01T00:00:00.000Z",
            "choices": [{"index": 0, "message": message, "finishReason": finish}],
            "usage": {"promptTokens": 21, "completionTokens": 4, "totalTokens": 25},
        },
    }


def cohere_result(
    text: str = "Hello!", *, tool_calls: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "apiFormat": "COHERE",
        "text": text,
        "finishReason": "COMPLETE",
        "usage": {"promptTokens": 30, "completionTokens": 6, "totalTokens": 36},
    }
    if tool_calls:
        response["toolCalls"] = tool_calls
    return {"modelId": "cohere.command-r-plus", "modelVersion": "1.6", "chatResponse": response}


def generic_text_event(text: str) -> dict[str, Any]:
    return {
        "index": 0,
        "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": text}]},
    }


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def make_model(oci_model: Callable[..., OCIModel]) -> Callable[..., OCIModel]:
    def make(model_id: str = "meta.llama-3.3-70b-instruct", **options: Any) -> OCIModel:
        options.setdefault("compartment_id", COMPARTMENT)
        return oci_model(model_id, **options)

    return make


# --- request format and signing -----------------------------------------------------------


async def test_generic_request_is_signed_and_carries_compartment_serving_mode_and_chat(
    genai_service: Any, oci_files: Any, make_model: Callable[..., OCIModel], verify_signature: Any
) -> None:
    genai_service.reply_json(generic_result("Hi there."))
    model = make_model("meta.llama-3.3-70b-instruct")
    request = ModelRequest(
        messages=(Message.system("Be brief."), Message.user("Hello")),
        settings=ModelSettings(max_tokens=100, temperature=0.3),
    )

    response = await model.request(request)

    assert response == ModelResponse(
        message=Message.assistant("Hi there."),
        usage=Usage(input_tokens=21, output_tokens=4),
        finish_reason="stop",
        model_name="oci:meta.llama-3.3-70b-instruct",
    )
    (sent,) = genai_service.requests
    assert sent.method == "POST"
    assert sent.path == CHAT_PATH
    params = verify_signature(sent, oci_files.public_key)
    assert params["keyId"] == oci_files.key_id
    assert sent.json() == {
        "compartmentId": COMPARTMENT,
        "servingMode": {"servingType": "ON_DEMAND", "modelId": "meta.llama-3.3-70b-instruct"},
        "chatRequest": {
            "apiFormat": "GENERIC",
            "messages": [
                {"role": "SYSTEM", "content": [{"type": "TEXT", "text": "Be brief."}]},
                {"role": "USER", "content": [{"type": "TEXT", "text": "Hello"}]},
            ],
            "isStream": False,
            "maxTokens": 100,
            "temperature": 0.3,
        },
    }


async def test_openai_model_on_oci_uses_generic_format_with_tools_and_tool_history(
    genai_service: Any, make_model: Callable[..., OCIModel]
) -> None:
    genai_service.reply_json(
        generic_result(
            "",
            tool_calls=[
                {
                    "type": "FUNCTION",
                    "id": "call_2",
                    "name": "get_weather",
                    "arguments": '{"city": "Lima"}',
                }
            ],
            finish="tool_calls",
            model_id="openai.gpt-4.1",
        )
    )
    model = make_model("openai.gpt-4.1")
    earlier = ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"})
    request = ModelRequest(
        messages=(
            Message.user("Weather in Paris, then Lima?"),
            Message.assistant("", (earlier,)),
            Message.tool("call_1", "get_weather", "sunny"),
        ),
        tools=(WEATHER_TOOL,),
    )

    response = await model.request(request)

    assert response.message.tool_calls == (
        ToolCall(id="call_2", name="get_weather", arguments={"city": "Lima"}),
    )
    assert response.finish_reason == "tool_calls"
    chat = genai_service.requests[0].json()["chatRequest"]
    assert chat["apiFormat"] == "GENERIC"
    assert chat["tools"] == [
        {
            "type": "FUNCTION",
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": WEATHER_TOOL.parameters,
        }
    ]
    assert chat["messages"][1] == {
        "role": "ASSISTANT",
        "toolCalls": [
            {
                "type": "FUNCTION",
                "id": "call_1",
                "name": "get_weather",
                "arguments": '{"city": "Paris"}',
            }
        ],
    }
    assert chat["messages"][2] == {
        "role": "TOOL",
        "toolCallId": "call_1",
        "content": [{"type": "TEXT", "text": "sunny"}],
    }


async def test_cohere_model_uses_cohere_format(
    genai_service: Any, make_model: Callable[..., OCIModel]
) -> None:
    genai_service.reply_json(cohere_result("Bonjour."))
    model = make_model("cohere.command-r-plus")
    request = ModelRequest(
        messages=(
            Message.system("Answer in French."),
            Message.user("Hi"),
            Message.assistant("Salut."),
            Message.user("Greet me again"),
        ),
        tools=(WEATHER_TOOL,),
        settings=ModelSettings(max_tokens=50, temperature=0.0),
    )

    response = await model.request(request)

    assert response.message == Message.assistant("Bonjour.")
    assert response.usage == Usage(input_tokens=30, output_tokens=6)
    body = genai_service.requests[0].json()
    assert body["servingMode"] == {"servingType": "ON_DEMAND", "modelId": "cohere.command-r-plus"}
    assert body["chatRequest"] == {
        "apiFormat": "COHERE",
        "message": "Greet me again",
        "chatHistory": [
            {"role": "USER", "message": "Hi"},
            {"role": "CHATBOT", "message": "Salut."},
        ],
        "preambleOverride": "Answer in French.",
        "isStream": False,
        "maxTokens": 50,
        "temperature": 0.0,
        "tools": [
            {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "parameterDefinitions": {
                    "city": {"description": "City name", "type": "str", "isRequired": True}
                },
            }
        ],
    }


async def test_cohere_tool_calls_and_tool_results_round_trip(
    genai_service: Any, make_model: Callable[..., OCIModel]
) -> None:
    genai_service.reply_json(
        cohere_result("", tool_calls=[{"name": "get_weather", "parameters": {"city": "Oslo"}}])
    )
    genai_service.reply_json(cohere_result("It is snowing in Oslo."))
    model = make_model("cohere.command-r-plus")
    question = Message.user("Weather in Oslo?")

    first = await model.request(ModelRequest(messages=(question,), tools=(WEATHER_TOOL,)))
    (call,) = first.message.tool_calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "Oslo"})
    assert call.id
    assert first.finish_reason == "tool_calls"

    second = await model.request(
        ModelRequest(
            messages=(question, first.message, Message.tool(call.id, "get_weather", "snow")),
            tools=(WEATHER_TOOL,),
        )
    )

    assert second.message.content == "It is snowing in Oslo."
    chat = genai_service.requests[1].json()["chatRequest"]
    assert chat["message"] == ""
    assert chat["chatHistory"] == [
        {"role": "USER", "message": "Weather in Oslo?"},
        {
            "role": "CHATBOT",
            "message": " ",
            "toolCalls": [{"name": "get_weather", "parameters": {"city": "Oslo"}}],
        },
    ]
    assert chat["toolResults"] == [
        {
            "call": {"name": "get_weather", "parameters": {"city": "Oslo"}},
            "outputs": [{"result": "snow"}],
        }
    ]


async def test_dedicated_endpoint_ocid_uses_dedicated_serving_mode(
    genai_service: Any, make_model: Callable[..., OCIModel]
) -> None:
    endpoint = "ocid1.generativeaiendpoint.oc1.us-chicago-1.amaaaaaatest"
    genai_service.reply_json(generic_result())
    model = make_model(endpoint)

    await model.request(ask("Hi"))

    assert genai_service.requests[0].json()["servingMode"] == {
        "servingType": "DEDICATED",
        "endpointId": endpoint,
    }


async def test_extra_settings_are_sent_and_unknown_ones_rejected(
    genai_service: Any, make_model: Callable[..., OCIModel]
) -> None:
    genai_service.reply_json(generic_result())
    model = make_model()

    await model.request(ask("Hi", extra={"top_p": 0.5}))
    assert genai_service.requests[0].json()["chatRequest"]["topP"] == 0.5

    with pytest.raises(ConfigurationError, match="top_q"):
        await model.request(ask("Hi", extra={"top_q": 0.5}))
    assert len(genai_service.requests) == 1


# --- streaming ----------------------------------------------------------------------------


async def test_generic_stream_events_become_deltas_and_one_response(
    genai_service: Any, make_model: Callable[..., OCIModel]
) -> None:
    genai_service.reply_events(
        generic_text_event("Hel"),
        generic_text_event("lo"),
        generic_text_event(" world"),
        {"index": 0, "finishReason": "stop"},
        {"usage": {"promptTokens": 8, "completionTokens": 3, "totalTokens": 11}},
    )
    model = make_model()

    items = await collect(model, ask("Greet", max_tokens=10))

    assert items[:-1] == [TextDelta(text="Hel"), TextDelta(text="lo"), TextDelta(text=" world")]
    assert items[-1] == ModelResponse(
        message=Message.assistant("Hello world"),
        usage=Usage(input_tokens=8, output_tokens=3),
        finish_reason="stop",
        model_name="oci:meta.llama-3.3-70b-instruct",
    )
    chat = genai_service.requests[0].json()["chatRequest"]
    assert chat["isStream"] is True
    assert chat["streamOptions"] == {"isIncludeUsage": True}
    assert chat["maxTokens"] == 10


async def test_generic_stream_tool_call_fragments_are_assembled(
    genai_service: Any, make_model: Callable[..., OCIModel]
) -> None:
    def fragment(**call: str) -> dict[str, Any]:
        return {"index": 0, "message": {"role": "ASSISTANT", "toolCalls": [call]}}

    genai_service.reply_events(
        fragment(id="call_a", type="FUNCTION", name="get_weather", arguments=""),
        fragment(arguments='{"city":'),
        fragment(arguments=' "Rome"}'),
        fragment(id="call_b", type="FUNCTION", name="get_weather", arguments='{"city": "Bern"}'),
        {"index": 0, "finishReason": "tool_calls"},
    )
    model = make_model("openai.gpt-4.1")

    items = await collect(model, ModelRequest(messages=(Message.user("?"),), tools=(WEATHER_TOOL,)))

    (final,) = items
    assert isinstance(final, ModelResponse)
    assert final.message.tool_calls == (
        ToolCall(id="call_a", name="get_weather", arguments={"city": "Rome"}),
        ToolCall(id="call_b", name="get_weather", arguments={"city": "Bern"}),
    )
    assert final.finish_reason == "tool_calls"


async def test_cohere_stream_does_not_repeat_the_closing_full_text(
    genai_service: Any, make_model: Callable[..., OCIModel]
) -> None:
    genai_service.reply_events(
        {"apiFormat": "COHERE", "text": "Bon"},
        {"apiFormat": "COHERE", "text": "jour"},
        {
            "apiFormat": "COHERE",
            "text": "Bonjour",
            "finishReason": "COMPLETE",
            "usage": {"promptTokens": 5, "completionTokens": 2, "totalTokens": 7},
        },
    )
    model = make_model("cohere.command-r-plus")

    items = await collect(model, ask("Hi"))

    assert items[:-1] == [TextDelta(text="Bon"), TextDelta(text="jour")]
    final = items[-1]
    assert final.message == Message.assistant("Bonjour")
    assert final.usage == Usage(input_tokens=5, output_tokens=2)
    chat = genai_service.requests[0].json()["chatRequest"]
    assert chat["apiFormat"] == "COHERE"
    assert chat["isStream"] is True


async def test_cohere_stream_tool_calls_arrive_whole(
    genai_service: Any, make_model: Callable[..., OCIModel]
) -> None:
    calls = [{"name": "get_weather", "parameters": {"city": "Kyiv"}}]
    genai_service.reply_events(
        {"apiFormat": "COHERE", "text": "I will look that up.", "toolCalls": calls},
        {"apiFormat": "COHERE", "finishReason": "COMPLETE", "toolCalls": calls},
    )
    model = make_model("cohere.command-r-plus")

    items = await collect(model, ModelRequest(messages=(Message.user("?"),), tools=(WEATHER_TOOL,)))

    (final,) = items
    (call,) = final.message.tool_calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "Kyiv"})
    assert final.finish_reason == "tool_calls"


# --- retries and errors -------------------------------------------------------------------


async def test_429_is_retried_after_retry_after_and_each_attempt_is_signed(
    genai_service: Any,
    oci_files: Any,
    make_model: Callable[..., OCIModel],
    sleeps: list[float],
    verify_signature: Any,
) -> None:
    genai_service.reply_error(429, "TooManyRequests", "Too many requests", **{"retry-after": "3"})
    genai_service.reply_json(generic_result("after the wait"))
    model = make_model()

    response = await model.request(ask("Hi"))

    assert response.message.content == "after the wait"
    assert sleeps == [3.0]
    first, second = genai_service.requests
    assert first.json() == second.json()
    for sent in (first, second):
        verify_signature(sent, oci_files.public_key)


async def test_429_that_never_lifts_raises_rate_limit_error(
    genai_service: Any, make_model: Callable[..., OCIModel], sleeps: list[float]
) -> None:
    for _ in range(3):
        genai_service.reply_error(429, "TooManyRequests", "Too many requests")
    model = make_model()

    with pytest.raises(RateLimitError) as raised:
        await model.request(ask("Hi"))

    assert raised.value.status_code == 429
    assert raised.value.provider_message == "Too many requests"
    assert len(genai_service.requests) == 3
    assert sleeps == [0.25, 0.5]


async def test_500_is_retried_then_succeeds(
    genai_service: Any, make_model: Callable[..., OCIModel], sleeps: list[float]
) -> None:
    genai_service.reply_error(500, "InternalServerError", "boom")
    genai_service.reply_events(generic_text_event("ok"), {"finishReason": "stop"})
    model = make_model()

    items = await collect(model, ask("Hi"))

    assert items[0] == TextDelta(text="ok")
    assert len(genai_service.requests) == 2
    assert sleeps == [0.25]


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "InvalidParameter", BadRequestError),
        (401, "NotAuthenticated", ProviderAuthenticationError),
        (404, "NotAuthorizedOrNotFound", BadRequestError),
    ],
)
async def test_client_errors_are_not_retried(
    genai_service: Any,
    make_model: Callable[..., OCIModel],
    sleeps: list[float],
    status: int,
    code: str,
    expected: type[Exception],
) -> None:
    genai_service.reply_error(status, code, f"service says {code}")
    model = make_model()

    with pytest.raises(expected) as raised:
        await model.request(ask("Hi"))

    error = raised.value
    assert getattr(error, "status_code", None) == status
    assert getattr(error, "provider_message", None) == f"service says {code}"
    assert code in str(error)
    assert len(genai_service.requests) == 1
    assert sleeps == []


async def test_session_token_profile_signs_with_the_token_and_never_reveals_it(
    genai_service: Any,
    oci_files: Any,
    make_model: Callable[..., OCIModel],
    verify_signature: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    genai_service.reply_error(401, "NotAuthenticated", "The session has expired")
    model = make_model(profile="SESSION")
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ProviderAuthenticationError) as raised:
        await model.request(ask("Hi"))

    params = verify_signature(genai_service.requests[0], oci_files.public_key)
    assert params["keyId"] == f"ST${oci_files.token}"
    for text in (str(raised.value), raised.value.provider_message, caplog.text, repr(model)):
        assert oci_files.token not in text


async def test_per_request_timeout_raises_provider_timeout(
    genai_service: Any, make_model: Callable[..., OCIModel], record_sleep: Any
) -> None:
    released = threading.Event()
    genai_service.reply_when(released, generic_result("too late"))
    genai_service.reply_when(released, generic_result("too late"))
    model = make_model(
        timeout=30.0, retry=RetryPolicy(max_attempts=2, jitter=0.0, sleep=record_sleep)
    )

    with pytest.raises(ProviderTimeoutError):
        await model.request(ask("Hi", timeout=0.2))

    assert len(genai_service.requests) == 2
    released.set()


async def test_unreachable_service_is_retried_then_unavailable(
    oci_files: Any, retry_policy: RetryPolicy
) -> None:
    model = OCIModel(
        "meta.llama-3.3-70b-instruct",
        compartment_id=COMPARTMENT,
        config_file=str(oci_files.config_file),
        service_endpoint="http://127.0.0.1:9",  # discard port: nothing listens
        retry=retry_policy,
        timeout=2.0,
    )

    with pytest.raises(ProviderUnavailableError):
        await model.request(ask("Hi"))


async def test_chat_call_runs_off_the_event_loop(
    genai_service: Any, make_model: Callable[..., OCIModel]
) -> None:
    # The service answers only after a coroutine on this loop sets `released`. Were the
    # blocking SDK call made on the loop, that coroutine could not run and the request
    # would time out instead.
    released = threading.Event()
    genai_service.reply_when(released, generic_result("answered"))
    model = make_model(timeout=5.0)

    async def release_when_request_arrives() -> None:
        await asyncio.to_thread(genai_service.request_seen.wait, 5.0)
        released.set()

    response, _ = await asyncio.gather(model.request(ask("Hi")), release_when_request_arrives())

    assert response.message.content == "answered"


async def test_guard_off_refuses_before_sending_anything(
    genai_service: Any, make_model: Callable[..., OCIModel]
) -> None:
    model = make_model()
    guard.set_allow_model_requests(False)

    with pytest.raises(ConfigurationError, match="oci:meta"):
        await model.request(ask("Hi"))
    with pytest.raises(ConfigurationError):
        await collect(model, ask("Hi"))

    assert genai_service.requests == []
