"""OCI Generative AI's response shapes for reasoning, detailed usage and Cohere's V2 API.

The real ``oci`` SDK signs each request and talks to the local service in conftest,
which answers with the JSON the real service sends (the SDK's own models, such as
``CohereChatResponseV2`` and ``AssistantMessage.reasoningContent``, parse it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from model_requests import ask, collect

from locus.agent import Agent
from locus.core.events import ModelResponseEvent, TextDeltaEvent
from locus.core.messages import Message, ToolCall
from locus.errors import ConfigurationError
from locus.models.base import ModelRequest, ModelResponse, ModelSettings, TextDelta, ToolSpec
from locus.tools import tool
from locus_providers.oci import OCIModel

pytestmark = pytest.mark.usefixtures("clean_oci_environment")

COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaatestcompartment"
COHERE_V2_MODEL = "cohere.command-a-reasoning-08-2025"

WEATHER_TOOL = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
)

#: A usage block as OCI reports it for models that cache prompts and reason.
USAGE_WITH_DETAILS = {
    "promptTokens": 1200,
    "completionTokens": 300,
    "totalTokens": 1500,
    "promptTokensDetails": {"cachedTokens": 1024},
    "completionTokensDetails": {"reasoningTokens": 256},
}


# --- the service's JSON shapes ------------------------------------------------------------


def generic_result(message: dict[str, Any], usage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "modelId": "xai.grok-3-mini",
        "modelVersion": "1.0.0",
        "chatResponse": {
            "apiFormat": "GENERIC",
            "timeCreated": "2026-01-01T00:00:00.000Z",
            "choices": [
                {"index": 0, "message": {"role": "ASSISTANT", **message}, "finishReason": "stop"}
            ],
            "usage": usage or {"promptTokens": 21, "completionTokens": 4, "totalTokens": 25},
        },
    }


def cohere_v2_result(
    message: dict[str, Any], finish: str = "COMPLETE", usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "modelId": COHERE_V2_MODEL,
        "modelVersion": "1.0",
        "chatResponse": {
            "apiFormat": "COHEREV2",
            "id": "4d4a2f5e-8f1c-4d3b-9a57-0c1f2b3c4d5e",
            "message": {"role": "ASSISTANT", **message},
            "finishReason": finish,
            "usage": usage or {"promptTokens": 40, "completionTokens": 12, "totalTokens": 52},
        },
    }


def text(value: str) -> dict[str, Any]:
    return {"type": "TEXT", "text": value}


def thinking(value: str) -> dict[str, Any]:
    return {"type": "THINKING", "thinking": value}


def v2_call(call_id: str, city: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "FUNCTION",
        "function": {"name": "get_weather", "arguments": f'{{"city": "{city}"}}'},
    }


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def make_model(oci_model: Callable[..., OCIModel]) -> Callable[..., OCIModel]:
    def make(model_id: str = "xai.grok-3-mini", **options: Any) -> OCIModel:
        options.setdefault("compartment_id", COMPARTMENT)
        return oci_model(model_id, **options)

    return make


@pytest.fixture
def cohere_v2(make_model: Callable[..., OCIModel]) -> OCIModel:
    return make_model(COHERE_V2_MODEL, api_format="COHEREV2")


# --- GENERIC: reasoning and usage details -------------------------------------------------


async def test_generic_reasoning_content_is_kept_apart_from_the_answer(
    genai_service: Any, make_model: Callable[..., OCIModel]
) -> None:
    genai_service.reply_json(
        generic_result(
            {"content": [text("42")], "reasoningContent": "Six times seven is 42."},
            USAGE_WITH_DETAILS,
        )
    )

    response = await make_model().request(ask("6 x 7?"))

    assert response.message.content == "42"
    assert response.reasoning == "Six times seven is 42."
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens) == (1200, 300)
    assert (usage.cached_input_tokens, usage.reasoning_tokens) == (1024, 256)


async def test_streamed_generic_reasoning_is_assembled_and_never_streamed_as_answer_text(
    genai_service: Any, make_model: Callable[..., OCIModel]
) -> None:
    genai_service.reply_events(
        {"index": 0, "message": {"role": "ASSISTANT", "reasoningContent": "Six times "}},
        {"index": 0, "message": {"role": "ASSISTANT", "reasoningContent": "seven is 42."}},
        {"index": 0, "message": {"role": "ASSISTANT", "content": [text("4")]}},
        {"index": 0, "message": {"role": "ASSISTANT", "content": [text("2")]}},
        {"index": 0, "finishReason": "stop"},
        {"usage": USAGE_WITH_DETAILS},
    )

    items = await collect(make_model(), ask("6 x 7?"))

    assert items[:-1] == [TextDelta(text="4"), TextDelta(text="2")]
    response = items[-1]
    assert isinstance(response, ModelResponse)
    assert response.message.content == "42"
    assert response.reasoning == "Six times seven is 42."
    usage = response.usage
    assert (usage.cached_input_tokens, usage.reasoning_tokens) == (1024, 256)
    assert genai_service.requests[0].json()["chatRequest"]["streamOptions"] == {
        "isIncludeUsage": True
    }


async def test_generic_refusal_of_an_openai_model_on_oci_is_a_refusal(
    genai_service: Any, make_model: Callable[..., OCIModel]
) -> None:
    refusal = "I'm sorry, I can't help with that."
    genai_service.reply_json(generic_result({"refusal": refusal}))
    genai_service.reply_events(
        {"index": 0, "message": {"role": "ASSISTANT", "refusal": "I'm sorry, "}},
        {"index": 0, "message": {"role": "ASSISTANT", "refusal": "I can't help with that."}},
        {"index": 0, "finishReason": "stop"},
    )
    model = make_model("openai.gpt-4.1")

    whole = await model.request(ask("How do I pick a lock?"))
    streamed = await collect(model, ask("How do I pick a lock?"))

    assert (whole.finish_reason, whole.refusal, whole.message.content) == ("refusal", refusal, "")
    assert len(streamed) == 1
    assert (streamed[0].finish_reason, streamed[0].refusal) == ("refusal", refusal)


# --- COHEREV2: selection, request shape, replies, streams ---------------------------------


@pytest.mark.parametrize("api_format", ["COHEREV2", "coherev2", "CohereV2"])
def test_cohere_v2_is_chosen_with_the_sdks_api_format_name(
    make_model: Callable[..., OCIModel], api_format: str
) -> None:
    model = make_model(COHERE_V2_MODEL, api_format=api_format)

    assert model.format.name == "coherev2"


def test_an_unknown_api_format_lists_the_sdks_names(
    make_model: Callable[..., OCIModel],
) -> None:
    with pytest.raises(ConfigurationError, match=r"'GENERIC', 'COHERE', 'COHEREV2'.*'cohere3'"):
        make_model(COHERE_V2_MODEL, api_format="cohere3")


async def test_cohere_v2_request_is_signed_and_sends_messages_tools_and_tool_history(
    genai_service: Any, oci_files: Any, cohere_v2: OCIModel, verify_signature: Any
) -> None:
    genai_service.reply_json(cohere_v2_result({"content": [text("Snow, then sun.")]}))
    earlier = ToolCall(id="call_1", name="get_weather", arguments={"city": "Oslo"})
    request = ModelRequest(
        messages=(
            Message.system("Be brief."),
            Message.user("Weather in Oslo?"),
            Message.assistant("", (earlier,)),
            Message.tool("call_1", "get_weather", "snow"),
        ),
        tools=(WEATHER_TOOL,),
        settings=ModelSettings(max_tokens=200, temperature=0.1),
    )

    response = await cohere_v2.request(request)

    assert response.message == Message.assistant("Snow, then sun.")
    (sent,) = genai_service.requests
    verify_signature(sent, oci_files.public_key)
    body = sent.json()
    assert body["servingMode"] == {"servingType": "ON_DEMAND", "modelId": COHERE_V2_MODEL}
    assert body["chatRequest"] == {
        "apiFormat": "COHEREV2",
        "messages": [
            {"role": "SYSTEM", "content": [text("Be brief.")]},
            {"role": "USER", "content": [text("Weather in Oslo?")]},
            {"role": "ASSISTANT", "toolCalls": [v2_call("call_1", "Oslo")]},
            {"role": "TOOL", "toolCallId": "call_1", "content": [text("snow")]},
        ],
        "tools": [
            {
                "type": "FUNCTION",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather for a city.",
                    "parameters": WEATHER_TOOL.parameters,
                },
            }
        ],
        "isStream": False,
        "maxTokens": 200,
        "temperature": 0.1,
    }


async def test_cohere_v2_tool_calls_become_tool_calls_and_the_tool_plan_is_reasoning(
    genai_service: Any, cohere_v2: OCIModel
) -> None:
    genai_service.reply_json(
        cohere_v2_result(
            {
                "toolPlan": "I will look up the weather in Oslo and Lima.",
                "toolCalls": [v2_call("get_weather_a1", "Oslo"), v2_call("get_weather_b2", "Lima")],
            },
            finish="TOOL_CALL",
        )
    )

    response = await cohere_v2.request(
        ModelRequest(messages=(Message.user("Oslo and Lima?"),), tools=(WEATHER_TOOL,))
    )

    assert response.message.tool_calls == (
        ToolCall(id="get_weather_a1", name="get_weather", arguments={"city": "Oslo"}),
        ToolCall(id="get_weather_b2", name="get_weather", arguments={"city": "Lima"}),
    )
    assert response.message.content == ""
    assert response.finish_reason == "tool_calls"
    assert response.reasoning == "I will look up the weather in Oslo and Lima."


async def test_cohere_v2_thinking_is_reasoning_and_not_the_answer(
    genai_service: Any, cohere_v2: OCIModel
) -> None:
    genai_service.reply_json(
        cohere_v2_result(
            {"content": [thinking("Seven sixes are 42."), text("42")]},
            usage=USAGE_WITH_DETAILS,
        )
    )

    response = await cohere_v2.request(ask("6 x 7?", extra={"thinking": {"type": "ENABLED"}}))

    assert response.message.content == "42"
    assert response.reasoning == "Seven sixes are 42."
    assert response.finish_reason == "stop"
    assert (response.usage.cached_input_tokens, response.usage.reasoning_tokens) == (1024, 256)
    chat = genai_service.requests[0].json()["chatRequest"]
    assert chat["thinking"] == {"type": "ENABLED"}


async def test_cohere_v2_stream_assembles_thinking_text_and_tool_calls(
    genai_service: Any, cohere_v2: OCIModel
) -> None:
    def event(**message: Any) -> dict[str, Any]:
        return {"apiFormat": "COHEREV2", "message": {"role": "ASSISTANT", **message}}

    genai_service.reply_events(
        event(content=[thinking("The user wants ")]),
        event(content=[thinking("the weather.")]),
        event(content=[text("Checking ")]),
        event(content=[text("now.")]),
        event(
            toolCalls=[{"id": "call_9", "type": "FUNCTION", "function": {"name": "get_weather"}}]
        ),
        event(toolCalls=[{"function": {"arguments": '{"city": '}}]),
        event(toolCalls=[{"function": {"arguments": '"Oslo"}'}}]),
        # The closing event repeats the message; nothing in it may count twice.
        {
            "apiFormat": "COHEREV2",
            "finishReason": "TOOL_CALL",
            "message": {
                "role": "ASSISTANT",
                "content": [thinking("The user wants the weather."), text("Checking now.")],
                "toolCalls": [v2_call("call_9", "Oslo")],
            },
            "usage": {"promptTokens": 40, "completionTokens": 12, "totalTokens": 52},
        },
    )

    items = await collect(
        cohere_v2, ModelRequest(messages=(Message.user("Oslo?"),), tools=(WEATHER_TOOL,))
    )

    assert items[:-1] == [TextDelta(text="Checking "), TextDelta(text="now.")]
    response = items[-1]
    assert isinstance(response, ModelResponse)
    assert response.message.content == "Checking now."
    assert response.message.tool_calls == (
        ToolCall(id="call_9", name="get_weather", arguments={"city": "Oslo"}),
    )
    assert response.reasoning == "The user wants the weather."
    assert response.finish_reason == "tool_calls"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (40, 12)
    chat = genai_service.requests[0].json()["chatRequest"]
    assert (chat["apiFormat"], chat["isStream"]) == ("COHEREV2", True)


async def test_cohere_v2_stream_that_sends_only_a_closing_message_still_answers(
    genai_service: Any, cohere_v2: OCIModel
) -> None:
    genai_service.reply_events(
        {
            "apiFormat": "COHEREV2",
            "finishReason": "COMPLETE",
            "message": {"role": "ASSISTANT", "content": [thinking("Easy."), text("Hello!")]},
        },
    )

    items = await collect(cohere_v2, ask("Hi"))

    assert items[0] == TextDelta(text="Hello!")
    response = items[-1]
    assert isinstance(response, ModelResponse)
    assert (response.message.content, response.reasoning) == ("Hello!", "Easy.")


async def test_agent_on_cohere_v2_runs_a_tool_and_reports_the_reasoning(
    genai_service: Any, make_model: Callable[..., OCIModel]
) -> None:
    @tool
    def get_weather(city: str) -> str:
        """Today's forecast for a city.

        Args:
            city: The city's name.
        """
        return f"snow in {city}"

    def event(**message: Any) -> dict[str, Any]:
        return {"apiFormat": "COHEREV2", "message": {"role": "ASSISTANT", **message}}

    genai_service.reply_events(
        event(toolPlan="I will check Oslo."),
        event(toolCalls=[v2_call("call_1", "Oslo")]),
        {"apiFormat": "COHEREV2", "finishReason": "TOOL_CALL"},
    )
    genai_service.reply_events(
        event(content=[thinking("It snows.")]),
        event(content=[text("It is snowing in Oslo.")]),
        {"apiFormat": "COHEREV2", "finishReason": "COMPLETE"},
    )
    agent = Agent(model=make_model(COHERE_V2_MODEL, api_format="COHEREV2"), tools=[get_weather])

    result = await agent.arun("Weather in Oslo?")

    assert (result.stop_reason, result.text) == ("complete", "It is snowing in Oslo.")
    turns = [e for e in result.events if isinstance(e, ModelResponseEvent)]
    assert [t.reasoning for t in turns] == ["I will check Oslo.", "It snows."]
    deltas = [e.text for e in result.events if isinstance(e, TextDeltaEvent)]
    assert deltas == ["It is snowing in Oslo."]
    second = genai_service.requests[1].json()["chatRequest"]["messages"]
    assert second[-2:] == [
        {"role": "ASSISTANT", "toolCalls": [v2_call("call_1", "Oslo")]},
        {"role": "TOOL", "toolCallId": "call_1", "content": [text("snow in Oslo")]},
    ]
