"""Model and tool spans follow the GenAI conventions; message text only when opted in."""

from __future__ import annotations

import json

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from telemetry import Telemetry

from locus import observe
from locus.agent import Agent, AgentConfig
from locus.core.messages import ToolCall
from locus.models import MockModel
from locus.tools import tool


@tool
def refund(order_id: int) -> str:
    """Refund an order.

    Args:
        order_id: The order.
    """
    return f"refunded #{order_id}"


@tool
def explode() -> str:
    """Always fails."""
    raise RuntimeError("tool broke")


def agent(*steps: object) -> Agent:
    model = MockModel("desk", script=list(steps))
    return Agent(
        config=AgentConfig(
            agent_id="refunds",
            model=model,
            tools=[refund, explode],
            max_tokens=50,
            temperature=0.0,
        )
    )


async def test_model_and_tool_spans_carry_genai_attributes_from_the_mock(
    telemetry: Telemetry,
) -> None:
    run = agent([ToolCall(id="c-1", name="refund", arguments={"order_id": 42})], "Done.")

    result = await run.arun("Refund order 42, card 4111")

    chats = sorted(telemetry.named("chat"), key=lambda s: s.start_time or 0)
    assert [c.name for c in chats] == ["chat desk", "chat desk"]
    first, second = chats
    assert first.kind is SpanKind.CLIENT
    assert first.attributes["gen_ai.operation.name"] == "chat"
    assert first.attributes["gen_ai.provider.name"] == "mock"
    assert first.attributes["gen_ai.request.model"] == "desk"
    assert first.attributes["gen_ai.response.model"] == "desk"
    assert first.attributes["gen_ai.request.max_tokens"] == 50
    assert first.attributes["gen_ai.request.temperature"] == 0.0
    assert tuple(first.attributes["gen_ai.response.finish_reasons"]) == ("tool_calls",)
    assert tuple(second.attributes["gen_ai.response.finish_reasons"]) == ("stop",)
    used = [e.usage for e in result.events if e.type == "model_response"]
    for span, usage in zip(chats, used, strict=True):
        assert span.attributes["gen_ai.usage.input_tokens"] == usage.input_tokens > 0
        assert span.attributes["gen_ai.usage.output_tokens"] == usage.output_tokens
    (tool_span,) = telemetry.named("execute_tool")
    assert tool_span.name == "execute_tool refund"
    assert tool_span.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool_span.attributes["gen_ai.tool.name"] == "refund"
    assert tool_span.attributes["gen_ai.tool.call.id"] == "c-1"
    # no message or argument text unless the user opts in
    for span in telemetry.spans():
        assert "4111" not in json.dumps(dict(span.attributes or {}))
        assert "gen_ai.input.messages" not in (span.attributes or {})

    tokens = telemetry.points("gen_ai.client.token.usage")
    by_type = {p.attributes["gen_ai.token.type"]: p.sum for p in tokens}
    assert by_type == {"input": result.usage.input_tokens, "output": result.usage.output_tokens}


@pytest.mark.parametrize("how", ["env", "code"])
async def test_prompts_completions_and_tool_arguments_only_when_opted_in(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "env":
        monkeypatch.setenv("LOCUS_TRACE_CONTENT", "1")
    else:
        observe.configure(
            tracer_provider=observe.settings.settings.tracer_provider, trace_content=True
        )
    run = agent([ToolCall(id="c-1", name="refund", arguments={"order_id": 42})], "Done.")

    await run.arun("Refund order 42, card 4111")

    first = min(telemetry.named("chat"), key=lambda s: s.start_time or 0)
    sent = json.loads(str(first.attributes["gen_ai.input.messages"]))
    assert sent[-1] == {
        "role": "user",
        "parts": [{"type": "text", "content": "Refund order 42, card 4111"}],
    }
    answered = json.loads(str(first.attributes["gen_ai.output.messages"]))
    assert answered[0]["parts"][0]["name"] == "refund"
    (tool_span,) = telemetry.named("execute_tool")
    assert json.loads(str(tool_span.attributes["gen_ai.tool.call.arguments"])) == {"order_id": 42}
    assert tool_span.attributes["gen_ai.tool.call.result"] == "refunded #42"


async def test_a_failing_tool_call_is_an_error_span(telemetry: Telemetry) -> None:
    run = agent([ToolCall(id="c-9", name="explode", arguments={})], "Sorry.")

    await run.arun("Go")

    (span,) = telemetry.named("execute_tool")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "tool_error"


def test_cached_and_reasoning_tokens_become_genai_attributes_when_reported() -> None:
    from locus.core.messages import Usage
    from locus.observe.genai import usage_attributes

    if "cached_input_tokens" not in Usage.model_fields:
        pytest.skip("this Usage has no cached/reasoning counts yet")
    usage = Usage(input_tokens=100, output_tokens=40, cached_input_tokens=64, reasoning_tokens=12)

    assert usage_attributes(usage) == {
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 40,
        "gen_ai.usage.cache_read.input_tokens": 64,
        "gen_ai.usage.reasoning.output_tokens": 12,
    }
    assert usage_attributes(Usage(input_tokens=3, output_tokens=1)) == {
        "gen_ai.usage.input_tokens": 3,
        "gen_ai.usage.output_tokens": 1,
    }
