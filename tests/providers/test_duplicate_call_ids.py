"""Two tool calls with one id, in each provider's own wire shape: the human's answer to
each governs only its own call, and the conversation sent back names each call once.

Some OpenAI-compatible servers (and models served through OCI) give every call of a turn
the same id. A $150 refund is approved and a $9,000 one rejected: the $9,000 refund must
never run, and the model must read the rejection as that call's result.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from openai_stream import BASE_URL, sse

from locus.core import Command
from locus.models.retry import RetryPolicy
from locus.multiagent import StateGraph
from locus_providers.oci import OCIModel
from locus_providers.openai import OpenAIModel
from tests.agent.refund_agent_graph import refund_graph

REJECTION = "Over the card limit; escalate to finance."
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaadupids"
ARGUMENTS = ['{"order_id": "42", "amount": 150}', '{"order_id": "42", "amount": 9000}']


async def approve_small_reject_large(graph: StateGraph) -> dict[str, Any]:
    paused = await graph.execute({"request": "Refund order 42: $150 and $9000"})
    answers = {
        150: "approve",
        9000: {"approved": False, "message": REJECTION},
    }
    by_id = {
        i.interrupt.id: answers[i.interrupt.payload["arguments"]["amount"]]
        for i in paused.interrupts
    }
    assert len(by_id) == 2, "each call has its own approval"
    done = await graph.execute(Command(update=paused.final_state, resume_by_id=by_id))
    return done.final_state


# --- OpenAI (real SDK over respx) ---------------------------------------------------------


async def test_openai_rejected_duplicate_id_call_never_runs(
    api: respx.MockRouter, http_client: httpx.AsyncClient, retry_policy: RetryPolicy
) -> None:
    same_id = [
        {
            "index": index,
            "id": "call_1",
            "type": "function",
            "function": {"name": "issue_refund", "arguments": arguments},
        }
        for index, arguments in enumerate(ARGUMENTS)
    ]
    route = api.post("/chat/completions").mock(
        side_effect=[
            sse(
                {"role": "assistant", "tool_calls": same_id},
                finish="tool_calls",
                model="served-model",
            ),
            sse(
                {"role": "assistant", "content": "One refund issued."},
                finish="stop",
                model="served-model",
            ),
        ]
    )
    model = OpenAIModel(
        "served-model",
        api_key="sk-test-dup",
        base_url=BASE_URL,
        http_client=http_client,
        retry=retry_policy,
    )
    ledger: list[int] = []

    state = await approve_small_reject_large(refund_graph(model, ledger))

    assert ledger == [150]
    assert state["reply"] == "One refund issued."
    assert len(route.calls) == 2  # the first turn was replayed on resume, not asked again
    sent = json.loads(route.calls[-1].request.content)["messages"]
    (assistant,) = [m for m in sent if m.get("tool_calls")]
    calls = assistant["tool_calls"]
    ids = {json.loads(c["function"]["arguments"])["amount"]: c["id"] for c in calls}
    assert len(set(ids.values())) == 2
    results = {m["tool_call_id"]: m["content"] for m in sent if m["role"] == "tool"}
    assert results == {ids[150]: "refunded 150", ids[9000]: REJECTION}


# --- OCI Generative AI (real SDK, signed requests to the local service) -------------------


def oci_call(arguments: str) -> dict[str, Any]:
    return {"id": "call_1", "type": "FUNCTION", "name": "issue_refund", "arguments": arguments}


def oci_chat_result(message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {
        "modelId": "meta.llama-3.3-70b-instruct",
        "modelVersion": "1.0.0",
        "chatResponse": {
            "apiFormat": "GENERIC",
            "timeCreated": "2026-01-01T00:00:00.000Z",
            "choices": [{"index": 0, "message": message, "finishReason": finish}],
            "usage": {"promptTokens": 30, "completionTokens": 9, "totalTokens": 39},
        },
    }


def oci_text_events(text: str) -> list[dict[str, Any]]:
    message = {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": text}]}
    return [{"index": 0, "message": message}, {"index": 0, "finishReason": "stop"}]


@pytest.mark.parametrize("shape", ["chat-result", "stream-events"])
async def test_oci_rejected_duplicate_id_call_never_runs(
    monkeypatch: pytest.MonkeyPatch,
    genai_service: Any,
    oci_files: Any,
    retry_policy: RetryPolicy,
    shape: str,
) -> None:
    for name in ("OCI_AUTH", "OCI_REGION", "OCI_GENAI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    calls = [oci_call(arguments) for arguments in ARGUMENTS]
    if shape == "chat-result":
        genai_service.reply_json(
            oci_chat_result({"role": "ASSISTANT", "toolCalls": calls}, "tool_calls")
        )
    else:
        genai_service.reply_events(
            *({"index": 0, "message": {"role": "ASSISTANT", "toolCalls": [c]}} for c in calls),
            {"index": 0, "finishReason": "tool_calls"},
        )
    genai_service.reply_events(*oci_text_events("One refund issued."))
    model = OCIModel(
        "meta.llama-3.3-70b-instruct",
        compartment_id=COMPARTMENT,
        config_file=str(oci_files.config_file),
        service_endpoint=genai_service.endpoint,
        retry=retry_policy,
        timeout=10.0,
    )
    ledger: list[int] = []

    state = await approve_small_reject_large(refund_graph(model, ledger))

    assert ledger == [150]
    assert state["reply"] == "One refund issued."
    assert len(genai_service.requests) == 2
    sent = genai_service.requests[-1].json()["chatRequest"]["messages"]
    (assistant,) = [m for m in sent if m.get("toolCalls")]
    ids = {json.loads(c["arguments"])["amount"]: c["id"] for c in assistant["toolCalls"]}
    assert len(set(ids.values())) == 2
    results = {
        m["toolCallId"]: "".join(part["text"] for part in m["content"])
        for m in sent
        if m["role"] == "TOOL"
    }
    assert results == {ids[150]: "refunded 150", ids[9000]: REJECTION}
