"""Typed output over the real SDKs: what each provider is sent, and the retry path.

OpenAI: the ``openai`` SDK over respx. OCI (GENERIC and COHERE formats): the ``oci`` SDK
against the local signed-request service.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Literal

import httpx
import pytest
import respx
from openai_stream import BASE_URL, sse_text
from pydantic import BaseModel, Field

from locus.agent import Agent
from locus.errors import OutputValidationError
from locus.models.retry import RetryPolicy
from locus_providers.oci import OCIModel
from locus_providers.openai import OpenAIModel

pytestmark = pytest.mark.usefixtures("clean_oci_environment")

COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaoutput"


class Verdict(BaseModel):
    """How sure the model is about a ticket's label."""

    label: Literal["refund", "billing"]
    confidence: float = Field(ge=0, le=1)


STRICT_SCHEMA = {
    "type": "object",
    "title": "Verdict",
    "properties": {
        "label": {"type": "string", "enum": ["refund", "billing"], "title": "Label"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1, "title": "Confidence"},
    },
    "required": ["label", "confidence"],
    "additionalProperties": False,
}


@pytest.fixture
async def openai_model(retry_policy: RetryPolicy) -> AsyncIterator[OpenAIModel]:
    async with httpx.AsyncClient() as client:
        yield OpenAIModel(
            "gpt-4.1",
            api_key="sk-test-output",
            base_url=BASE_URL,
            http_client=client,
            retry=retry_policy,
        )


async def test_openai_is_sent_a_strict_json_schema_response_format(
    api: respx.MockRouter, openai_model: OpenAIModel
) -> None:
    route = api.post("/chat/completions").mock(
        return_value=sse_text('{"label": "billing", "confidence": 0.25}')
    )
    agent = Agent(model=openai_model, output_type=Verdict)

    result = await agent.arun("Charged twice?")

    assert result.output == Verdict(label="billing", confidence=0.25)
    body = json.loads(route.calls[0].request.content)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "Verdict",
            "description": "How sure the model is about a ticket's label.",
            "schema": STRICT_SCHEMA,
            "strict": True,
        },
    }


async def test_openai_invalid_first_reply_is_retried_once_with_the_error(
    api: respx.MockRouter, openai_model: OpenAIModel
) -> None:
    route = api.post("/chat/completions").mock(
        side_effect=[
            sse_text('{"label": "billing", "confidence": 1.5}'),
            sse_text('{"label": "billing", "confidence": 0.5}'),
        ]
    )
    agent = Agent(model=openai_model, output_type=Verdict)

    result = await agent.arun("Charged twice?")

    assert result.output == Verdict(label="billing", confidence=0.5)
    assert route.call_count == 2
    retry = json.loads(route.calls[1].request.content)
    assert retry["response_format"]["json_schema"]["schema"] == STRICT_SCHEMA
    bad, told = retry["messages"][-2:]
    assert bad == {"role": "assistant", "content": '{"label": "billing", "confidence": 1.5}'}
    assert told["role"] == "user"
    assert "confidence: Input should be less than or equal to 1 (got 1.5)" in told["content"]


async def test_openai_still_invalid_after_the_retry_raises_naming_the_field(
    api: respx.MockRouter, openai_model: OpenAIModel
) -> None:
    api.post("/chat/completions").mock(
        side_effect=[sse_text('{"label": "x", "confidence": 0.5}') for _ in range(2)]
    )
    agent = Agent(model=openai_model, output_type=Verdict)

    with pytest.raises(OutputValidationError) as caught:
        await agent.arun("Charged twice?")

    assert caught.value.field == "label"


async def test_openai_scalar_type_is_sent_wrapped_and_unwrapped_on_return(
    api: respx.MockRouter, openai_model: OpenAIModel
) -> None:
    route = api.post("/chat/completions").mock(return_value=sse_text('{"result": 3}'))
    agent = Agent(model=openai_model, output_type=int)

    result = await agent.arun("How many?")

    assert result.output == 3
    sent = json.loads(route.calls[0].request.content)["response_format"]["json_schema"]
    assert sent["name"] == "int"
    assert sent["strict"] is True
    assert sent["schema"]["properties"] == {"result": {"type": "integer", "title": "Result"}}


# --- OCI ----------------------------------------------------------------------------------


def oci_model(model_id: str, genai_service: Any, oci_files: Any, retry: RetryPolicy) -> OCIModel:
    return OCIModel(
        model_id,
        compartment_id=COMPARTMENT,
        config_file=str(oci_files.config_file),
        service_endpoint=genai_service.endpoint,
        retry=retry,
        timeout=10.0,
    )


def generic_text(text: str) -> dict[str, Any]:
    return {
        "index": 0,
        "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": text}]},
    }


async def test_oci_generic_is_sent_a_json_schema_response_format_and_retries(
    genai_service: Any, oci_files: Any, retry_policy: RetryPolicy
) -> None:
    genai_service.reply_events(generic_text('{"label": "shipping", "confidence": 0.5}'))
    genai_service.reply_events(generic_text('{"label": "refund", "confidence": 0.75}'))
    model = oci_model("meta.llama-3.3-70b-instruct", genai_service, oci_files, retry_policy)
    agent = Agent(model=model, output_type=Verdict)

    result = await agent.arun("Parcel lost")

    assert result.output == Verdict(label="refund", confidence=0.75)
    first, second = (sent.json()["chatRequest"] for sent in genai_service.requests)
    assert first["responseFormat"] == {
        "type": "JSON_SCHEMA",
        "jsonSchema": {
            "name": "Verdict",
            "description": "How sure the model is about a ticket's label.",
            "schema": STRICT_SCHEMA,
            "isStrict": True,
        },
    }
    told = second["messages"][-1]
    assert told["role"] == "USER"
    assert "label: Input should be 'refund' or 'billing'" in told["content"][0]["text"]


async def test_oci_cohere_is_sent_a_json_object_response_format_with_the_schema(
    genai_service: Any, oci_files: Any, retry_policy: RetryPolicy
) -> None:
    genai_service.reply_events(
        {"apiFormat": "COHERE", "text": '{"label": "billing", "confidence": 0.5}'},
        {
            "apiFormat": "COHERE",
            "text": '{"label": "billing", "confidence": 0.5}',
            "finishReason": "COMPLETE",
        },
    )
    model = oci_model("cohere.command-r-plus", genai_service, oci_files, retry_policy)
    agent = Agent(model=model, output_type=Verdict)

    result = await agent.arun("Charged twice")

    assert result.output == Verdict(label="billing", confidence=0.5)
    chat = genai_service.requests[0].json()["chatRequest"]
    assert chat["responseFormat"] == {"type": "JSON_OBJECT", "schema": STRICT_SCHEMA}


async def test_oci_cohere_v2_is_sent_a_json_object_response_format_with_the_schema(
    genai_service: Any, oci_files: Any, retry_policy: RetryPolicy
) -> None:
    answer = '{"label": "refund", "confidence": 0.9}'
    genai_service.reply_json(
        {
            "modelId": "cohere.command-a-03-2025",
            "modelVersion": "1.0",
            "chatResponse": {
                "apiFormat": "COHEREV2",
                "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": answer}]},
                "finishReason": "COMPLETE",
                "usage": {"promptTokens": 40, "completionTokens": 12, "totalTokens": 52},
            },
        }
    )
    model = OCIModel(
        "cohere.command-a-03-2025",
        compartment_id=COMPARTMENT,
        config_file=str(oci_files.config_file),
        service_endpoint=genai_service.endpoint,
        retry=retry_policy,
        timeout=10.0,
        api_format="COHEREV2",
    )
    agent = Agent(model=model, output_type=Verdict)

    result = await agent.arun("Parcel lost")

    assert result.output == Verdict(label="refund", confidence=0.9)
    chat = genai_service.requests[0].json()["chatRequest"]
    assert chat["apiFormat"] == "COHEREV2"
    assert chat["responseFormat"] == {"type": "JSON_OBJECT", "schema": STRICT_SCHEMA}
