"""Every tool call of a run has its own identity, whatever ids the model sent.

Some OpenAI-compatible servers give two calls of one turn the same id (or none). An
approval answer must govern exactly the call it was asked about, and the conversation sent
back must stay valid: each tool result answers exactly one call of the assistant message.
The provider-shaped versions of these tests are in tests/providers/test_duplicate_call_ids.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from locus.agent import Agent
from locus.core import Command
from locus.core.events import ModelResponseEvent, ToolCallEvent, ToolResultEvent
from locus.core.messages import Message, ToolCall
from locus.models import MockModel, Model, ModelRequest, ModelResponse
from locus.multiagent import StateGraph
from locus.tools import tool
from tests.agent.refund_agent_graph import refund_graph

REJECTION = "Too large; escalate to finance."


def same_id_twice(amounts: tuple[int, ...], call_id: str = "call_1") -> MockModel:
    """A model that asks for one refund per amount, every call with the same id."""

    def reply(messages: tuple[Message, ...], info: Any) -> Any:
        if not any(m.role == "tool" for m in messages):
            return [
                ToolCall(id=call_id, name="issue_refund", arguments={"order_id": "42", "amount": a})
                for a in amounts
            ]
        return "done"

    return MockModel(function=reply)


async def answer_by_amount(graph: StateGraph, answers: dict[int, Any]) -> Any:
    paused = await graph.execute({"request": "Refund order 42"})
    by_id = {
        i.interrupt.id: answers[i.interrupt.payload["arguments"]["amount"]]
        for i in paused.interrupts
    }
    assert len(by_id) == len(answers), "each call gets its own approval"
    return await graph.execute(Command(update=paused.final_state, resume_by_id=by_id))


@pytest.mark.parametrize("amounts", [(150, 9000), (9000, 150)], ids=["small-first", "large-first"])
async def test_rejected_duplicate_id_call_never_runs(amounts: tuple[int, ...]) -> None:
    ledger: list[int] = []
    model = same_id_twice(amounts)

    await answer_by_amount(
        refund_graph(model, ledger),
        {150: "approve", 9000: {"approved": False, "message": REJECTION}},
    )

    assert ledger == [150]
    sent_back = model.requests[-1].messages
    (assistant,) = [m for m in sent_back if m.tool_calls]
    results = {m.tool_call_id: m.content for m in sent_back if m.role == "tool"}
    by_amount = {c.arguments["amount"]: c.id for c in assistant.tool_calls}
    assert results == {by_amount[150]: "refunded 150", by_amount[9000]: REJECTION}


async def test_duplicate_ids_are_rekeyed_consistently_in_the_conversation() -> None:
    ledger: list[int] = []
    model = same_id_twice((150, 9000, 20))

    await answer_by_amount(refund_graph(model, ledger), {150: True, 9000: True})

    assert sorted(ledger) == [20, 150, 9000]
    sent_back = model.requests[-1].messages
    (assistant,) = [m for m in sent_back if m.tool_calls]
    ids = [c.id for c in assistant.tool_calls]
    assert ids[0] == "call_1", "the first call keeps the id the model gave"
    assert len(set(ids)) == 3
    assert [m.tool_call_id for m in sent_back if m.role == "tool"] == ids


class NoIdModel(Model):
    """A model whose tool calls carry no id, as some servers send them; then it sums up."""

    name = "no-id"

    def __init__(self) -> None:
        self.requests: list[ModelRequest] = []

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        if any(m.role == "tool" for m in request.messages):
            return ModelResponse(message=Message.assistant("done"))
        calls = tuple(
            ToolCall(id="", name="issue_refund", arguments={"order_id": "42", "amount": a})
            for a in (20, 30)
        )
        return ModelResponse(message=Message.assistant(tool_calls=calls))


async def test_calls_without_ids_get_distinct_ids() -> None:
    ledger: list[int] = []
    model = NoIdModel()

    await refund_graph(model, ledger).execute({"request": "two small refunds"})

    assert ledger == [20, 30]
    (assistant,) = [m for m in model.requests[-1].messages if m.tool_calls]
    ids = [c.id for c in assistant.tool_calls]
    assert all(ids) and len(set(ids)) == 2
    assert [m.tool_call_id for m in model.requests[-1].messages if m.role == "tool"] == ids


async def test_events_and_the_next_request_carry_the_same_rekeyed_ids() -> None:
    @tool
    def lookup(order_id: str) -> str:
        """Look an order up.

        Args:
            order_id: The order.
        """
        return f"order {order_id}: shipped"

    calls = [ToolCall(id="dup", name="lookup", arguments={"order_id": o}) for o in "AB"]
    model = MockModel(script=[calls, "both shipped"])
    agent = Agent(model=model, tools=[lookup])

    events = [e async for e in agent.run("where are A and B?")]

    (response,) = [e for e in events if isinstance(e, ModelResponseEvent) and e.message.tool_calls]
    asked = [e.tool_call.id for e in events if isinstance(e, ToolCallEvent)]
    answered = [e.tool_call_id for e in events if isinstance(e, ToolResultEvent)]
    assert [c.id for c in response.message.tool_calls] == asked == answered
    assert len(set(asked)) == 2
    sent_back = model.requests[-1].messages
    assert [m.tool_call_id for m in sent_back if m.role == "tool"] == asked


async def test_an_id_reused_from_an_earlier_turn_is_rekeyed() -> None:
    @tool
    def lookup(order_id: str) -> str:
        """Look an order up.

        Args:
            order_id: The order.
        """
        return f"order {order_id}: shipped"

    model = MockModel(
        script=[
            ToolCall(id="call_0", name="lookup", arguments={"order_id": "A"}),
            ToolCall(id="call_0", name="lookup", arguments={"order_id": "B"}),
            "both shipped",
        ]
    )

    await Agent(model=model, tools=[lookup]).arun("where are A and B?")

    sent_back = model.requests[-1].messages
    call_ids = [c.id for m in sent_back for c in m.tool_calls]
    assert call_ids[0] == "call_0" and len(set(call_ids)) == 2
    assert [m.tool_call_id for m in sent_back if m.role == "tool"] == call_ids
