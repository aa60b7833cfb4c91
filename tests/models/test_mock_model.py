"""``MockModel``: deterministic default replies, strict scripts, reply functions, recording."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from locus.core.messages import Message, ToolCall, Usage
from locus.errors import ConfigurationError, MockScriptError, ProviderUnavailableError
from locus.models import (
    MockInfo,
    MockModel,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    TextDelta,
    ToolSpec,
    tool_call,
)
from locus.models.mock_reply import split_chunks
from locus.tools import tool

ROOT = Path(__file__).resolve().parents[2]

TRIAGE = (
    "You are a customer-support triage agent. Read the request and respond with EXACTLY ONE "
    "of: refund, billing, technical, escalate."
)


def request(*messages: Message, tools: tuple[ToolSpec, ...] = (), **settings: Any) -> ModelRequest:
    return ModelRequest(messages=messages, tools=tools, settings=ModelSettings(**settings))


async def streamed(model: MockModel, req: ModelRequest) -> tuple[list[str], ModelResponse]:
    deltas: list[str] = []
    final: ModelResponse | None = None
    async for item in model.stream(req):
        if isinstance(item, TextDelta):
            deltas.append(item.text)
        else:
            assert final is None
            final = item
    assert final is not None
    return deltas, final


# --- default mode -------------------------------------------------------------------------


async def test_default_reply_quotes_the_last_user_message() -> None:
    req = request(Message.system(TRIAGE), Message.user("Customer request: 'my bill is wrong'"))

    response = await MockModel().request(req)

    text = response.message.content
    assert text.startswith("Mock reply ")
    assert text.endswith("to: \"Customer request: 'my bill is wrong'\"")
    assert response.finish_reason == "stop"
    assert response.model_name == "mock:default"


async def test_default_reply_is_not_a_triage_category() -> None:
    for ask in ("refund please", "billing issue", "technical problem", "escalate"):
        response = await MockModel().request(request(Message.system(TRIAGE), Message.user(ask)))
        first = response.message.content.lower().split()[0]
        assert first not in {"refund", "billing", "technical", "escalate"}


async def test_same_messages_give_the_same_reply_and_different_ones_differ() -> None:
    one = request(Message.system("A"), Message.user("hello"))
    same = request(Message.system("A"), Message.user("hello"))
    other = request(Message.system("B"), Message.user("hello"))

    first = await MockModel().request(one)
    again = await MockModel(name="elsewhere").request(same)
    different = await MockModel().request(other)

    assert first.message.content == again.message.content
    assert first.usage == again.usage
    assert different.message.content != first.message.content


def test_default_reply_is_identical_in_another_process() -> None:
    script = (
        "import asyncio, json\n"
        "from locus.core.messages import Message\n"
        "from locus.models import MockModel, ModelRequest\n"
        "req = ModelRequest(messages=(Message.system('S'), Message.user('héllo wörld')))\n"
        "r = asyncio.run(MockModel().request(req))\n"
        "print(json.dumps([r.message.content, r.usage.input_tokens, r.usage.output_tokens]))\n"
    )
    outputs = []
    for seed in ("0", "12345"):  # different str-hash randomisation in each process
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        outputs.append(json.loads(done.stdout))

    assert outputs[0] == outputs[1]
    assert outputs[0][0].startswith("Mock reply ")


async def test_default_reply_streams_as_several_deltas_that_join_to_the_text() -> None:
    deltas, final = await streamed(MockModel(), request(Message.user("tell me about my order")))

    assert len(deltas) >= 3
    assert "".join(deltas) == final.message.content


async def test_default_usage_counts_tokens() -> None:
    response = await MockModel().request(request(Message.user("one two three")))

    assert response.usage.input_tokens == 4 + 3
    assert response.usage.output_tokens > 4
    assert response.usage.total_tokens == (
        response.usage.input_tokens + response.usage.output_tokens
    )


async def test_default_reply_honours_max_tokens() -> None:
    response = await MockModel().request(request(Message.user("a " * 50), max_tokens=6))

    assert response.finish_reason == "length"
    assert response.usage.output_tokens == 6
    assert len(response.message.content.split()) < 6


async def test_default_mode_calls_tools_named_in_the_last_user_message() -> None:
    lookup = ToolSpec(
        name="lookup_order",
        parameters={
            "type": "object",
            "properties": {
                "order_id": {"type": "integer"},
                "carrier": {"enum": ["ups", "dhl"]},
                "when": {"anyOf": [{"type": "null"}, {"type": "string"}]},
                "address": {"$ref": "#/$defs/Address"},
                "verbose": {"type": "boolean", "default": False},
            },
            "required": ["order_id", "carrier", "when", "address"],
            "$defs": {
                "Address": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
                    "required": ["city"],
                }
            },
        },
    )
    weather = ToolSpec(name="weather")
    unused = ToolSpec(name="refund")
    req = request(
        Message.user("check the weather, then lookup_order please"),
        tools=(lookup, weather, unused),
    )

    response = await MockModel().request(req)

    calls = response.message.tool_calls
    assert [c.name for c in calls] == ["weather", "lookup_order"]
    assert calls[1].arguments == {
        "order_id": 1,
        "carrier": "ups",
        "when": "mock",
        "address": {"city": "mock"},
    }
    assert calls[0].arguments == {}
    assert len({c.id for c in calls}) == 2
    assert response.finish_reason == "tool_calls"
    assert response.message.content == ""


async def test_default_mode_reports_tool_results_instead_of_calling_again() -> None:
    call = ToolCall(id="c1", name="weather", arguments={})
    req = request(
        Message.user("use weather"),
        Message.assistant(tool_calls=(call,)),
        Message.tool("c1", "weather", "sunny"),
        tools=(ToolSpec(name="weather"),),
    )

    response = await MockModel().request(req)

    assert response.message.tool_calls == ()
    assert response.message.content.endswith("tool results: weather -> sunny")


async def test_tool_named_only_as_part_of_a_word_is_not_called() -> None:
    req = request(Message.user("forecasting weathervanes"), tools=(ToolSpec(name="weather"),))

    response = await MockModel().request(req)

    assert response.message.tool_calls == ()


def refund_spec(**extra: Any) -> ToolSpec:
    properties = {"order_id": {"type": "string"}, "amount": {"type": "integer"}, **extra}
    return ToolSpec(
        name="issue_refund",
        parameters={"type": "object", "properties": properties, "required": list(properties)},
    )


async def test_numbers_in_the_prompt_become_the_id_and_number_arguments() -> None:
    req = request(Message.user("Refund order 42 for $150"), tools=(refund_spec(),))

    response = await MockModel().request(req)

    (call,) = response.message.tool_calls
    assert (call.name, call.arguments) == ("issue_refund", {"order_id": "42", "amount": 150})


async def test_a_tool_is_named_by_the_last_word_of_its_name_in_any_case() -> None:
    weather = ToolSpec(name="get_weather")
    lookup = ToolSpec(name="lookupOrder")
    req = request(Message.user("Weather first; then the ORDER."), tools=(lookup, weather))

    response = await MockModel().request(req)

    assert [c.name for c in response.message.tool_calls] == ["get_weather", "lookupOrder"]


async def test_prompt_numbers_keep_separators_fractions_and_fixed_choices_apart() -> None:
    spec = refund_spec(
        rate={"type": "number"},
        currency={"enum": ["usd", "eur"]},
        paid={"type": "string"},
        customerId={"anyOf": [{"type": "string"}, {"type": "null"}]},
        count={"type": "integer"},
    )
    req = request(Message.user("refund #17 of $9,000.50 at 2.5 for 88, v3.2"), tools=(spec,))

    response = await MockModel().request(req)

    (call,) = response.message.tool_calls
    assert call.arguments == {
        "order_id": "17",
        "amount": 9000,
        "rate": 2.5,
        "currency": "usd",
        "paid": "mock",
        "customerId": "88",
        "count": 1,  # the numbers ran out ("v3.2" is a version, not a number)
    }


async def test_refund_without_an_amount_uses_the_fixed_example() -> None:
    req = request(Message.user("Refund order 42"), tools=(refund_spec(),))

    response = await MockModel().request(req)

    assert response.message.tool_calls[0].arguments == {"order_id": "42", "amount": 1}


@given(st.text(alphabet="0123456789,.$# aZ_-", max_size=60))
def test_any_prompt_gives_refund_arguments_the_tool_accepts(text: str) -> None:
    @tool
    def issue_refund(order_id: str, amount: int, rate: float) -> str:
        """Refund."""
        return "ok"

    req = request(Message.user("refund " + text + " " + "9" * 5000), tools=(issue_refund.spec,))

    response = asyncio.run(MockModel().request(req))

    (call,) = response.message.tool_calls
    issue_refund.validate(call.arguments)


# --- scripted mode ------------------------------------------------------------------------


async def test_script_steps_are_consumed_in_order() -> None:
    explicit = ModelResponse(
        message=Message.assistant("explicit"), usage=Usage(input_tokens=1, output_tokens=2)
    )
    model = MockModel(
        "scripted",
        script=[
            "text",
            tool_call("lookup", order_id=1),
            [tool_call("a"), ToolCall(id="given", name="b")],
            Message.assistant("a message"),
            explicit,
        ],
    )
    req = request(Message.user("hi"))

    replies = [await model.request(req) for _ in range(5)]

    assert replies[0].message.content == "text"
    assert replies[0].usage.output_tokens > 0
    assert replies[1].message.tool_calls == (
        ToolCall(id="call_2_0", name="lookup", arguments={"order_id": 1}),
    )
    assert replies[1].finish_reason == "tool_calls"
    assert [c.id for c in replies[2].message.tool_calls] == ["call_3_0", "given"]
    assert replies[3].message.content == "a message"
    assert replies[4].usage == Usage(input_tokens=1, output_tokens=2)
    assert replies[4].model_name == "mock:scripted"
    assert model.remaining_steps == 0
    model.assert_script_consumed()


async def test_request_past_the_script_raises() -> None:
    model = MockModel("short", script=["only"])
    await model.request(request(Message.user("one")))

    with pytest.raises(MockScriptError) as caught:
        await model.request(request(Message.user("two")))

    assert str(caught.value) == (
        "MockModel 'mock:short' received request #2 but its script has only 1 steps "
        "(last user message: 'two')"
    )
    assert len(model.requests) == 2


async def test_unused_steps_are_reported() -> None:
    model = MockModel("long", script=["one", tool_call("lookup"), "three"])
    await model.request(request(Message.user("x")))

    with pytest.raises(MockScriptError) as caught:
        model.assert_script_consumed()

    assert str(caught.value) == (
        "MockModel 'mock:long' finished with 2 of 3 script steps unused; the first unused "
        "is step 1: tool calls lookup"
    )


async def test_exception_step_is_raised_when_reached() -> None:
    failure = ProviderUnavailableError("upstream 503", provider="mock", status_code=503)
    model = MockModel(script=["fine", failure])
    await model.request(request(Message.user("x")))

    with pytest.raises(ProviderUnavailableError) as caught:
        await model.request(request(Message.user("y")))

    assert caught.value is failure


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (42, "script step 1 is int 42; expected a str"),
        (Message.user("hi"), "script step 1 is a 'user' message"),
        ([], "script step 1 is list []"),
        ([tool_call("a"), "b"], "script step 1 is list"),
    ],
)
def test_bad_script_step_is_rejected_naming_its_index(step: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        MockModel("bad", script=["fine", step])

    assert str(caught.value).startswith(f"MockModel 'mock:bad': {message}")


def test_script_and_function_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="pass script= or function=, not both"):
        MockModel(script=["a"], function=lambda messages, info: "b")


@pytest.mark.parametrize("chunk_words", [0, -1, True, 1.5])
def test_bad_chunk_words_is_refused(chunk_words: Any) -> None:
    with pytest.raises(ConfigurationError, match="chunk_words must be an int >= 1"):
        MockModel(chunk_words=chunk_words)


# --- function mode ------------------------------------------------------------------------


async def test_function_gets_messages_and_info() -> None:
    seen: list[tuple[tuple[Message, ...], MockInfo]] = []

    def reply(messages: tuple[Message, ...], info: MockInfo) -> str:
        seen.append((messages, info))
        return f"call {info.call_index}: {messages[-1].content.upper()}"

    model = MockModel("fn", function=reply)
    spec = ToolSpec(name="lookup", description="Find.")
    req = request(Message.user("hi"), tools=(spec,), max_tokens=10, temperature=0.3)

    deltas, first = await streamed(model, req)
    second = await model.request(req)

    assert first.message.content == "call 0: HI"
    assert second.message.content == "call 1: HI"
    assert "".join(deltas) == "call 0: HI"
    messages, info = seen[0]
    assert messages == req.messages
    assert info.tools == (spec,)
    assert info.tool_names == ("lookup",)
    assert info.settings.max_tokens == 10
    assert info.settings.temperature == 0.3
    assert info.model_name == "mock:fn"


async def test_async_function_may_return_tool_calls() -> None:
    async def reply(messages: tuple[Message, ...], info: MockInfo) -> list[ToolCall]:
        return [tool_call("lookup", order_id=len(messages))]

    response = await MockModel(function=reply).request(request(Message.user("x")))

    assert response.message.tool_calls == (
        ToolCall(id="call_1_0", name="lookup", arguments={"order_id": 1}),
    )


async def test_function_returning_a_non_reply_raises() -> None:
    model = MockModel("fn", function=lambda messages, info: 3.5)

    with pytest.raises(
        MockScriptError, match="MockModel 'mock:fn': the mock function's reply is float"
    ):
        await model.request(request(Message.user("x")))


async def test_every_request_is_recorded_in_order() -> None:
    model = MockModel()
    first = request(Message.user("one"))
    second = request(Message.user("two"))

    await model.request(first)
    [item async for item in model.stream(second)]

    assert model.requests == [first, second]
    assert model.mode == "default"


# --- properties ---------------------------------------------------------------------------


@given(text=st.text(), words=st.integers(min_value=1, max_value=5))
def test_streamed_chunks_always_join_back_to_the_text(text: str, words: int) -> None:
    chunks = split_chunks(text, words)

    assert "".join(chunks) == text
    assert all(chunks)


async def test_default_mode_arguments_pass_the_tools_own_validation() -> None:
    class Address(BaseModel):
        city: str
        country: Literal["NO", "SE"]

    @tool
    def ship(
        order_id: int,
        weight: float,
        express: bool,
        tags: list[str],
        address: Address,
        note: str | None,
        speed: Literal["slow", "fast"] = "slow",
    ) -> str:
        """Ship."""
        return "ok"

    req = request(Message.user("please ship it"), tools=(ship.spec,))

    response = await MockModel().request(req)

    (call,) = response.message.tool_calls
    assert call.name == "ship"
    validated = ship.validate(call.arguments)
    assert validated["address"] == Address(city="mock", country="NO")
