"""03 — One agent, any provider.

The same agent (instructions and a tool) runs on whichever model ``locus.models.from_env()``
returns: the offline mock, OpenAI (or an OpenAI-compatible server such as vLLM or Ollama),
or OCI Generative AI (Meta, OpenAI and Cohere models hosted on OCI). Nothing in the agent
changes; only the model string does.

Sections:
1. The model the environment selects
2. A tool and an agent
3. One run, streamed event by event
4. Model strings and their options
5. Retries: one policy for every provider
6. Mistakes get clear errors

Runs offline on the mock (``LOCUS_MODEL_PROVIDER=mock``). For a real model:

    LOCUS_MODEL_PROVIDER=openai OPENAI_API_KEY=... python examples/03_providers.py
    LOCUS_MODEL_PROVIDER=oci OCI_COMPARTMENT_ID=ocid1.compartment... python examples/03_providers.py

``LOCUS_MODEL`` picks the model id (``gpt-4.1``, ``cohere.command-r-plus``, ...).
Run: python examples/03_providers.py
"""

from __future__ import annotations

import asyncio
from typing import Any

from locus.agent import Agent, AgentConfig
from locus.core.events import TerminateEvent, TextDeltaEvent, ToolCallEvent, ToolResultEvent
from locus.errors import LocusError, MissingDependencyError, ModelProviderError
from locus.models import Model, from_env, infer_model
from locus.models.retry import RETRYABLE_ERRORS, RetryPolicy
from locus.tools import tool

# %% 1. The model the environment selects ---------------------------------------------------

model: Model = from_env()
print(f"model: {model.name}")

# %% 2. A tool and an agent ------------------------------------------------------------------

FORECASTS = {"paris": "sunny, 21°C", "oslo": "snow, -3°C", "lima": "overcast, 17°C"}


@tool
def get_weather(city: str) -> dict[str, Any]:
    """Today's forecast for a city.

    Args:
        city: The city's name, e.g. "Paris".
    """
    return {"city": city, "forecast": FORECASTS.get(city.lower(), "mild, 15°C")}


agent = Agent(
    config=AgentConfig(
        agent_id="weather",
        model=model,
        system_prompt=(
            "You answer questions about the weather. Always call get_weather for the city "
            "asked about, then answer in one sentence."
        ),
        tools=[get_weather],
        max_iterations=3,
        max_tokens=200,
        temperature=0.0,
    )
)

# %% 3. One run, streamed event by event -----------------------------------------------------


async def run_once(prompt: str) -> None:
    print(f"\nuser: {prompt}")
    print("assistant: ", end="", flush=True)
    async for event in agent.run(prompt):
        if isinstance(event, TextDeltaEvent):
            print(event.text, end="", flush=True)
        elif isinstance(event, ToolCallEvent):
            call = event.tool_call
            print(f"\n  -> calls {call.name}({call.arguments})")
        elif isinstance(event, ToolResultEvent):
            print(f"  <- {event.tool_name}: {event.content}")
            print("assistant: ", end="", flush=True)
        elif isinstance(event, TerminateEvent):
            print(
                f"\n[{event.stop_reason} after {event.iterations} model call(s); "
                f"{event.usage.input_tokens} tokens in, {event.usage.output_tokens} out]"
            )


try:
    asyncio.run(run_once("Use get_weather: what is the weather in Paris today?"))
except ModelProviderError as exc:
    # Retries are spent by now: 429, 5xx, timeouts and dropped connections were retried.
    raise SystemExit(f"\n{type(exc).__name__} (status {exc.status_code}): {exc}") from None

# %% 4. Model strings and their options ------------------------------------------------------
# A model string is "provider:model-id"; keyword options go to the provider. Building a
# model sends nothing: the SDK is imported and credentials are checked, that is all.
print("\nmodel strings:")
print('  "openai:gpt-4.1"                   OpenAI; OPENAI_API_KEY, OPENAI_BASE_URL')
print('  "oci:meta.llama-3.3-70b-instruct"  OCI, GENERIC format')
print('  "oci:openai.gpt-4.1"               OCI, GENERIC format')
print('  "oci:cohere.command-r-plus"        OCI, COHERE format')

try:
    local = infer_model("openai:llama3.1", base_url="http://localhost:11434/v1", api_key="unused")
    print(f"  an Ollama server through the OpenAI provider: {local!r}")
except MissingDependencyError as exc:  # the base install has no provider SDKs
    print(f"  an Ollama server through the OpenAI provider: {exc}")

# %% 5. Retries: one policy for every provider ----------------------------------------------
# 429, 5xx, dropped connections and timeouts are retried with exponential backoff and
# jitter (or after the server's Retry-After, capped); other errors never are. The SDKs'
# own retries are off, so attempts do not multiply.
patient = RetryPolicy(max_attempts=6, initial_backoff=1.0, max_backoff=30.0, max_total_seconds=300)
print(f"\nretried: {', '.join(error.__name__ for error in RETRYABLE_ERRORS)}")
print(f"a patient policy: {patient}")
print("pass it as infer_model('openai:gpt-4.1', retry=patient) or OCIModel(..., retry=patient)")

# %% 6. Mistakes get clear errors ------------------------------------------------------------
print("\nmistakes:")
mistakes: list[tuple[str, Any]] = [
    ("a misspelt provider", lambda: infer_model("opneai:gpt-4.1")),
    ("no API key", lambda: infer_model("openai:gpt-4.1", api_key="")),
    (
        "an OCI config file that is not there",
        lambda: infer_model(
            "oci:cohere.command-r-plus",
            compartment_id="ocid1.compartment.oc1..example",
            config_file="/nonexistent/oci/config",
        ),
    ),
    ("a retry policy that cannot work", lambda: RetryPolicy(max_attempts=0)),
]
for what, attempt in mistakes:
    try:
        attempt()
    except LocusError as exc:
        print(f"  {what}: {type(exc).__name__}: {exc}")
