"""An Agent on OpenAIModel: a streamed tool call is assembled, executed, and answered.

The real ``openai`` SDK talks HTTP to respx; the test checks both request bodies.
"""

from __future__ import annotations

import json

import httpx
import respx
from openai_stream import BASE_URL, sse

from locus.agent import Agent, AgentConfig
from locus.core.events import ToolCallEvent, ToolResultEvent
from locus.models.retry import RetryPolicy
from locus.tools import tool
from locus_providers.openai import OpenAIModel


async def test_agent_executes_a_streamed_tool_call_and_answers(
    api: respx.MockRouter, http_client: httpx.AsyncClient, retry_policy: RetryPolicy
) -> None:
    looked_up: list[str] = []

    @tool
    def get_weather(city: str) -> str:
        """Today's forecast for a city.

        Args:
            city: The city's name.
        """
        looked_up.append(city)
        return f"sunny in {city}"

    route = api.post("/chat/completions").mock(
        side_effect=[
            sse(
                {"role": "assistant", "content": None},
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_w1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": ""},
                        }
                    ]
                },
                {"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]},
                {"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Paris"}'}}]},
                finish="tool_calls",
                usage=(40, 12),
            ),
            sse(
                {"role": "assistant", "content": ""},
                {"content": "It is sunny "},
                {"content": "in Paris."},
                finish="stop",
                usage=(60, 7),
            ),
        ]
    )
    model = OpenAIModel(
        "gpt-4.1",
        api_key="sk-test-agent",
        base_url=BASE_URL,
        http_client=http_client,
        retry=retry_policy,
    )
    agent = Agent(
        config=AgentConfig(
            agent_id="weather",
            model=model,
            system_prompt="Use the tool.",
            tools=[get_weather],
            max_tokens=100,
        )
    )

    result = await agent.arun("Weather in Paris?")

    assert result.text == "It is sunny in Paris."
    assert looked_up == ["Paris"]
    assert result.usage.input_tokens == 100
    assert result.usage.output_tokens == 19
    calls = [e.tool_call for e in result.events if isinstance(e, ToolCallEvent)]
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("call_w1", "get_weather", {"city": "Paris"})
    ]
    results = [e for e in result.events if isinstance(e, ToolResultEvent)]
    assert [(r.tool_call_id, r.is_error) for r in results] == [("call_w1", False)]

    first, second = (json.loads(call.request.content) for call in route.calls)
    for body in (first, second):
        assert body["stream"] is True
        assert body["max_tokens"] == 100
        assert [t["function"]["name"] for t in body["tools"]] == ["get_weather"]
    assert first["messages"] == [
        {"role": "system", "content": "Use the tool."},
        {"role": "user", "content": "Weather in Paris?"},
    ]
    assistant, tool_message = second["messages"][2:]
    assert assistant["tool_calls"] == [
        {
            "id": "call_w1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    assert tool_message["role"] == "tool"
    assert tool_message["tool_call_id"] == "call_w1"
    assert "sunny in Paris" in tool_message["content"]
