"""GenAI span attributes from the real providers over their recorded responses, and no
API key or prompt text in any log line at INFO."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import respx
from openai_stream import BASE_URL, sse
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from locus.agent import Agent, AgentConfig
from locus.core import interrupt
from locus.models.retry import RetryPolicy
from locus.multiagent import END, START, StateGraph
from providers.oci import OCIModel
from providers.openai import OpenAIModel


def chat_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = [s for s in exporter.get_finished_spans() if s.name.startswith("chat ")]
    return span


async def test_openai_model_spans_carry_genai_attributes(
    span_exporter: InMemorySpanExporter, http_client: httpx.AsyncClient, retry_policy: RetryPolicy
) -> None:
    with respx.mock(base_url=BASE_URL) as api:
        api.post("/chat/completions").mock(
            return_value=sse({"content": "Hi there."}, finish="stop", usage=(21, 4))
        )
        model = OpenAIModel(
            "gpt-4.1",
            api_key="sk-test",
            base_url=BASE_URL,
            http_client=http_client,
            retry=retry_policy,
        )
        await Agent(config=AgentConfig(agent_id="a", model=model, max_tokens=64)).arun("Hello")

    span = chat_span(span_exporter)
    assert span.name == "chat gpt-4.1"
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4.1"
    assert attrs["gen_ai.response.model"] == "gpt-4.1"
    assert attrs["gen_ai.request.max_tokens"] == 64
    assert attrs["gen_ai.usage.input_tokens"] == 21
    assert attrs["gen_ai.usage.output_tokens"] == 4
    assert tuple(attrs["gen_ai.response.finish_reasons"]) == ("stop",)


async def test_oci_model_spans_carry_genai_attributes(
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    genai_service: Any,
    oci_files: Any,
    retry_policy: RetryPolicy,
) -> None:
    for name in ("OCI_AUTH", "OCI_REGION", "OCI_GENAI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    genai_service.reply_events(
        {"apiFormat": "COHERE", "text": "Snow "},
        {"apiFormat": "COHERE", "text": "in Oslo."},
        {
            "apiFormat": "COHERE",
            "text": "Snow in Oslo.",
            "finishReason": "COMPLETE",
            "usage": {"promptTokens": 17, "completionTokens": 5},
        },
    )
    model = OCIModel(
        "cohere.command-r-plus",
        compartment_id="ocid1.compartment.oc1..aaaaaaaaagent",
        config_file=str(oci_files.config_file),
        service_endpoint=genai_service.endpoint,
        retry=retry_policy,
    )

    await Agent(config=AgentConfig(agent_id="a", model=model)).arun("Weather in Oslo?")

    span = chat_span(span_exporter)
    attrs = dict(span.attributes or {})
    assert span.name == "chat cohere.command-r-plus"
    assert attrs["gen_ai.provider.name"] == "oci"
    assert attrs["gen_ai.request.model"] == "cohere.command-r-plus"
    assert attrs["gen_ai.usage.input_tokens"] == 17
    assert attrs["gen_ai.usage.output_tokens"] == 5
    assert tuple(attrs["gen_ai.response.finish_reasons"]) == ("stop",)


async def test_no_api_key_or_prompt_text_reaches_info_logs(
    caplog: pytest.LogCaptureFixture, http_client: httpx.AsyncClient, retry_policy: RetryPolicy
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "sk-live-THIS-IS-SECRET"
    prompt = "my card number is 4111 1111 1111 1111"
    with respx.mock(base_url=BASE_URL) as api:
        api.post("/chat/completions").mock(
            side_effect=[
                httpx.Response(429, json={"error": {"message": "slow down", "type": "rate"}}),
                sse({"content": "Noted."}, finish="stop", usage=(9, 2)),
            ]
        )
        model = OpenAIModel(
            "gpt-4.1",
            api_key=secret,
            base_url=BASE_URL,
            http_client=http_client,
            retry=retry_policy,
        )
        agent = Agent(config=AgentConfig(agent_id="a", model=model))

        async def work(state: dict[str, Any]) -> dict[str, Any]:
            text = (await agent.arun(state["prompt"])).text
            return {"text": text, "ok": interrupt({"question": "send?"})}

        graph = StateGraph("secrets").add_node("work", work)
        graph.add_edge(START, "work").add_edge("work", END)
        await graph.execute({"prompt": prompt})

    info = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert any(r.name == "locus.models.retry" for r in info)
    assert any(r.name == "locus.graph" for r in info)
    for record in info:
        text = record.getMessage() + repr(vars(record))
        assert secret not in text
        assert "4111" not in text


async def test_a_failed_model_call_is_an_error_span_with_the_exception(
    span_exporter: InMemorySpanExporter, http_client: httpx.AsyncClient, retry_policy: RetryPolicy
) -> None:
    from opentelemetry.trace import StatusCode

    from locus.errors import ProviderAuthenticationError

    with respx.mock(base_url=BASE_URL) as api:
        api.post("/chat/completions").mock(
            return_value=httpx.Response(
                401, json={"error": {"message": "bad key", "type": "invalid_request_error"}}
            )
        )
        model = OpenAIModel(
            "gpt-4.1",
            api_key="sk-test",
            base_url=BASE_URL,
            http_client=http_client,
            retry=retry_policy,
        )
        with pytest.raises(ProviderAuthenticationError):
            await Agent(config=AgentConfig(agent_id="a", model=model)).arun("Hello")

    span = chat_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ProviderAuthenticationError"
    (event,) = [e for e in span.events if e.name == "exception"]
    assert event.attributes["exception.type"].endswith("ProviderAuthenticationError")


async def test_openai_cached_and_reasoning_tokens_reach_the_span(
    span_exporter: InMemorySpanExporter, http_client: httpx.AsyncClient, retry_policy: RetryPolicy
) -> None:
    import json

    chunks = [
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "o4-mini",
            "choices": [{"index": 0, "delta": {"content": "Hi."}, "finish_reason": "stop"}],
        },
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "o4-mini",
            "choices": [],
            "usage": {
                "prompt_tokens": 120,
                "completion_tokens": 30,
                "total_tokens": 150,
                "prompt_tokens_details": {"cached_tokens": 96},
                "completion_tokens_details": {"reasoning_tokens": 22},
            },
        },
    ]
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    with respx.mock(base_url=BASE_URL) as api:
        api.post("/chat/completions").mock(
            return_value=httpx.Response(
                200, content=body.encode(), headers={"content-type": "text/event-stream"}
            )
        )
        model = OpenAIModel(
            "o4-mini",
            api_key="sk-test",
            base_url=BASE_URL,
            http_client=http_client,
            retry=retry_policy,
        )
        await Agent(config=AgentConfig(agent_id="a", model=model)).arun("Hello")

    attrs = dict(chat_span(span_exporter).attributes or {})
    assert attrs["gen_ai.usage.input_tokens"] == 120
    assert attrs["gen_ai.usage.output_tokens"] == 30
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 96
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 22
