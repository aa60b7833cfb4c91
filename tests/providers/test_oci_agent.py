"""An Agent on OCIModel (COHERE format): a streamed tool call is executed and its result
goes back to Cohere as ``toolResults``; the real ``oci`` SDK talks to 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from locus.agent import Agent, AgentConfig
from locus.models.retry import RetryPolicy
from locus.tools import tool
from locus_providers.oci import OCIModel


async def test_agent_runs_a_cohere_tool_round_trip(
    monkeypatch: pytest.MonkeyPatch,
    genai_service: Any,
    oci_files: Any,
    retry_policy: RetryPolicy,
) -> None:
    for name in ("OCI_AUTH", "OCI_REGION", "OCI_GENAI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    looked_up: list[str] = []

    @tool
    def get_weather(city: str) -> str:
        """Today's forecast for a city.

        Args:
            city: The city's name.
        """
        looked_up.append(city)
        return f"snow in {city}"

    calls = [{"name": "get_weather", "parameters": {"city": "Oslo"}}]
    genai_service.reply_events(
        {"apiFormat": "COHERE", "text": "Checking.", "toolCalls": calls},
        {"apiFormat": "COHERE", "finishReason": "COMPLETE", "toolCalls": calls},
    )
    genai_service.reply_events(
        {"apiFormat": "COHERE", "text": "It is snowing "},
        {"apiFormat": "COHERE", "text": "in Oslo."},
        {"apiFormat": "COHERE", "text": "It is snowing in Oslo.", "finishReason": "COMPLETE"},
    )
    model = OCIModel(
        "cohere.command-r-plus",
        compartment_id="ocid1.compartment.oc1..aaaaaaaaagent",
        config_file=str(oci_files.config_file),
        service_endpoint=genai_service.endpoint,
        retry=retry_policy,
    )
    agent = Agent(
        config=AgentConfig(
            agent_id="weather",
            model=model,
            system_prompt="Use the tool.",
            tools=[get_weather],
        )
    )

    result = await agent.arun("Weather in Oslo?")

    assert result.text == "It is snowing in Oslo."
    assert looked_up == ["Oslo"]
    first, second = (sent.json()["chatRequest"] for sent in genai_service.requests)
    assert first["message"] == "Weather in Oslo?"
    assert first["preambleOverride"] == "Use the tool."
    assert [t["name"] for t in first["tools"]] == ["get_weather"]
    assert second["message"] == ""
    assert second["chatHistory"][0] == {"role": "USER", "message": "Weather in Oslo?"}
    assert second["chatHistory"][1]["toolCalls"] == calls
    assert second["toolResults"] == [{"call": calls[0], "outputs": [{"result": "snow in Oslo"}]}]
