"""Typed output on the mock: every kind of ``output_type``, validation retries, and the
error after them."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from locus.agent import Agent, AgentConfig
from locus.core import Command
from locus.core.events import TerminateEvent
from locus.errors import ConfigurationError, OutputValidationError
from locus.models import MockModel
from locus.models.mock import tool_call
from locus.multiagent import END, START, StateGraph
from locus.tools import tool


class Ticket(BaseModel):
    """A triaged support ticket."""

    label: Literal["refund", "billing"]
    confidence: float = Field(ge=0, le=1)
    reason: str = Field(min_length=3)


class Priority(enum.Enum):
    LOW = "low"
    HIGH = "high"


@dataclasses.dataclass
class Point:
    x: int
    y: int = 7


class Span(TypedDict):
    start: int
    end: int


@pytest.mark.parametrize(
    ("output_type", "expected"),
    [
        (Ticket, Ticket(label="refund", confidence=1.0, reason="mock")),
        (Priority, Priority.LOW),
        (Point, Point(x=1, y=7)),
        (Span, {"start": 1, "end": 1}),
        (Literal["yes", "no"], "yes"),
        (int, 1),
        (list[str], []),
    ],
    ids=["pydantic", "enum", "dataclass", "typeddict", "literal", "int", "list"],
)
async def test_default_mock_answers_a_valid_instance_of_each_kind_of_type(
    output_type: Any, expected: Any
) -> None:
    mock = MockModel()
    agent = Agent(model=mock, output_type=output_type)

    result = await agent.arun("Classify: my parcel never came")

    assert result.output == expected
    assert type(result.output) is type(expected)
    terminate = result.events[-1]
    assert isinstance(terminate, TerminateEvent)
    assert terminate.output == expected
    sent = mock.requests[0].output
    assert sent is not None
    assert sent.json_schema["type"] == "object"


async def test_a_scalar_type_is_asked_for_wrapped_in_an_object() -> None:
    mock = MockModel(script=['{"result": "high"}'])
    agent = Agent(model=mock, output_type=Priority)

    result = await agent.arun("How urgent?")

    assert result.output is Priority.HIGH
    spec = mock.requests[0].output
    assert spec is not None
    assert spec.json_schema["required"] == ["result"]
    assert spec.json_schema["properties"]["result"] == {"$ref": "#/$defs/Priority"}
    assert spec.strict is True


def test_schema_is_strict_only_when_every_property_is_required() -> None:
    required_only = Agent(model="mock", output_type=Ticket).output_schema
    with_default = Agent(model="mock", output_type=Point).output_schema
    assert required_only is not None and with_default is not None
    # Ticket has min_length on reason, which constrained decoding does not honour.
    assert required_only.spec.strict is False

    class Strictly(BaseModel):
        label: Literal["a", "b"]
        confidence: float = Field(ge=0, le=1)

    strict = Agent(model="mock", output_type=Strictly).output_schema
    assert strict is not None
    assert strict.spec.strict is True
    assert strict.spec.json_schema["additionalProperties"] is False
    assert with_default.spec.strict is False
    assert "additionalProperties" not in with_default.spec.json_schema


async def test_function_mock_returns_what_the_test_says_code_fences_allowed() -> None:
    def reply(messages: Any, info: Any) -> str:
        return '```json\n{"label": "billing", "confidence": 0.4, "reason": "an invoice"}\n```'

    agent = Agent(model=MockModel(function=reply), output_type=Ticket)

    result = await agent.arun("Why was I charged twice?")

    assert result.output == Ticket(label="billing", confidence=0.4, reason="an invoice")


async def test_invalid_answer_is_sent_back_with_the_error_and_the_retry_is_used() -> None:
    mock = MockModel(
        script=[
            '{"label": "shipping", "confidence": 0.9, "reason": "lost parcel"}',
            '{"label": "refund", "confidence": 0.9, "reason": "lost parcel"}',
        ]
    )
    agent = Agent(model=mock, output_type=Ticket, max_iterations=1)

    result = await agent.arun("My parcel never came")

    assert result.output == Ticket(label="refund", confidence=0.9, reason="lost parcel")
    assert result.iterations == 2
    second = mock.requests[1].messages
    assert second[-2].role == "assistant"
    assert second[-1].role == "user"
    assert "label: Input should be 'refund' or 'billing'" in second[-1].content
    assert '(got "shipping")' in second[-1].content
    mock.assert_script_consumed()


async def test_output_validation_error_after_the_retries_names_the_field() -> None:
    bad = '{"label": "refund", "confidence": 3, "reason": "sure"}'
    mock = MockModel(script=[bad, bad, bad])
    agent = Agent(agent_id="triage", model=mock, output_type=Ticket, output_retries=2)

    with pytest.raises(OutputValidationError) as caught:
        await agent.arun("My parcel never came")

    error = caught.value
    assert error.field == "confidence"
    assert error.agent_id == "triage"
    assert error.text == bad
    assert "'triage'" in str(error) and "'confidence'" in str(error)
    assert "after 3 attempts" in str(error)
    assert len(mock.requests) == 3


async def test_no_retries_means_the_first_bad_answer_raises() -> None:
    agent = Agent(model=MockModel(script=["not json"]), output_type=Ticket, output_retries=0)

    with pytest.raises(OutputValidationError) as caught:
        await agent.arun("hi")

    assert caught.value.field == "(output)"
    assert "Invalid JSON" in str(caught.value)


async def test_the_failed_run_still_ends_with_an_error_terminate_event() -> None:
    agent = Agent(model=MockModel(script=["[]"]), output_type=Ticket, output_retries=0)
    events: list[Any] = []

    async def consume() -> None:
        async for event in agent.run("hi"):
            events.append(event)

    with pytest.raises(OutputValidationError):
        await consume()

    assert isinstance(events[-1], TerminateEvent)
    assert events[-1].stop_reason == "error"
    assert events[-1].output is None


async def test_tools_run_first_and_only_the_final_answer_is_validated() -> None:
    @tool
    def lookup(order_id: int) -> str:
        """Look an order up.

        Args:
            order_id: The order.
        """
        return "lost in transit"

    mock = MockModel(
        script=[
            tool_call("lookup", order_id=42),
            '{"label": "refund", "confidence": 0.8, "reason": "lost in transit"}',
        ]
    )
    agent = Agent(model=mock, tools=[lookup], output_type=Ticket)

    result = await agent.arun("Order 42?")

    assert result.output is not None and result.output.reason == "lost in transit"
    assert all(request.output is not None for request in mock.requests)


def test_a_type_without_a_schema_is_a_configuration_error() -> None:
    class Opaque:
        pass

    with pytest.raises(ConfigurationError, match="output_type"):
        AgentConfig(agent_id="x", model="mock", output_type=Opaque)


async def test_typed_output_replays_from_the_journal_inside_a_graph_node() -> None:
    from locus.core import interrupt

    mock = MockModel(script=['{"label": "billing", "confidence": 0.5, "reason": "charge"}'])
    agent = Agent(model=mock, output_type=Ticket)

    async def classify_node(state: dict[str, Any]) -> dict[str, Any]:
        result = await agent.arun(state["text"])
        assert isinstance(result.output, Ticket)
        answer = interrupt({"guess": result.output.label})
        return {"label": answer, "guess": result.output.model_dump()}

    graph = StateGraph("typed")
    graph.add_node("classify", classify_node)
    graph.add_edge(START, "classify").add_edge("classify", END)

    paused = await graph.execute({"text": "charged twice"})
    assert paused.interrupt is not None
    stored = json.loads(json.dumps(paused.final_state))
    done = await graph.execute(Command(update=stored, resume="billing"))

    assert done.final_state["guess"]["label"] == "billing"
    assert len(mock.requests) == 1


async def test_a_refusal_is_not_validated_or_retried() -> None:
    from locus.core.messages import Message
    from locus.models.base import ModelResponse

    refusal = ModelResponse(message=Message.assistant(""), refusal="I can't help with that.")
    mock = MockModel(script=[refusal])
    agent = Agent(model=mock, output_type=Ticket)

    result = await agent.arun("something harmful")

    assert result.stop_reason == "refusal"
    assert result.output is None
    assert len(mock.requests) == 1


async def test_journal_entries_recorded_before_typed_output_existed_still_replay() -> None:
    import pydantic_core

    from locus.agent.loop import call_model
    from locus.core.interrupt import JOURNAL_KEY, NodeContext, _enter, _leave
    from locus.core.journal import fingerprint_bytes
    from locus.core.messages import Message
    from locus.models.base import ModelRequest, ModelResponse

    mock = MockModel(script=[])
    request = ModelRequest(messages=(Message.user("hi"),))
    # what earlier releases printed: the request without an ``output`` field at all
    old_form = pydantic_core.to_json([mock.name, request.model_dump(exclude={"output"})])
    recorded = ModelResponse(message=Message.assistant("from the journal"))
    ctx = NodeContext("node", 0)
    ctx.extras[JOURNAL_KEY] = {
        "model:0": {
            "fingerprint": fingerprint_bytes(old_form),
            "about": "model call #0",
            "result": recorded.model_dump(mode="json"),
        }
    }

    token = _enter(ctx)
    try:
        items = [item async for item in call_model(mock, request)]
    finally:
        _leave(token)

    assert items[-1] == recorded
    assert mock.requests == []
