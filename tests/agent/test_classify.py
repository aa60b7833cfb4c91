"""``classify``: confident answers pass, unsure ones pause for a person, one model call."""

from __future__ import annotations

import json
from typing import Any

import pytest

from locus.agent import Agent, Classification, classify
from locus.core import Command
from locus.errors import InterruptOutsideNodeError, InvalidResumeValueError, UserError
from locus.models import MockModel
from locus.multiagent import END, START, StateGraph

LABELS = ["refund", "billing", "technical"]
GUESSES = {
    "parcel never came": ("refund", 0.93, "The parcel was lost."),
    "something feels off": ("billing", 0.35, "Vague; maybe a charge."),
    "where is my cat": ("pets", 0.9, "It is about a cat."),
}


def counting_model() -> MockModel:
    """Answers from GUESSES by the text in the prompt; ``requests`` counts the calls."""

    def reply(messages: Any, info: Any) -> str:
        prompt = messages[-1].content.lower()
        label, confidence, reason = next(g for t, g in GUESSES.items() if t in prompt)
        return json.dumps({"label": label, "confidence": confidence, "reason": reason})

    return MockModel("classifier", function=reply)


def triage_graph(agent: Agent) -> StateGraph:
    async def triage(state: dict[str, Any]) -> dict[str, Any]:
        decided = await classify(agent, state["text"], labels=LABELS, min_confidence=0.7)
        return {"label": decided.label, "by": decided.decided_by, "guess": decided.model_label}

    graph = StateGraph("triage")
    graph.add_node("triage", triage)
    graph.add_edge(START, "triage").add_edge("triage", END)
    return graph


async def test_confident_answer_above_the_threshold_does_not_pause() -> None:
    model = counting_model()

    done = await triage_graph(Agent(model=model)).execute({"text": "My parcel never came"})

    assert done.interrupt is None
    assert done.final_state["label"] == "refund"
    assert done.final_state["by"] == "model"
    assert len(model.requests) == 1


async def test_unsure_answer_pauses_and_resumes_with_one_model_call_in_total() -> None:
    model = counting_model()
    agent = Agent(agent_id="triage-bot", model=model)

    paused = await triage_graph(agent).execute({"text": "Something feels off"})

    assert paused.interrupt is not None
    pending = paused.interrupt.interrupt
    assert pending.payload["type"] == "classification"
    assert pending.payload["options"] == LABELS
    assert pending.payload["guess"] == "billing"
    assert pending.payload["confidence"] == 0.35
    assert pending.payload["reason"] == "Vague; maybe a charge."
    assert "'triage-bot' is unsure (confidence 0.35 is below 0.70)" in pending.payload["question"]
    assert pending.response_schema == {"enum": LABELS, "type": "string"}

    stored = json.loads(json.dumps(paused.final_state))
    done = await triage_graph(agent).execute(Command(update=stored, resume="technical"))

    assert done.final_state == {
        **done.final_state,
        "label": "technical",
        "by": "human",
        "guess": "billing",
    }
    assert len(model.requests) == 1


async def test_label_outside_the_set_pauses_even_when_confident() -> None:
    model = counting_model()

    paused = await triage_graph(Agent(model=model)).execute({"text": "Where is my cat?"})

    assert paused.interrupt is not None
    payload = paused.interrupt.interrupt.payload
    assert payload["guess"] == "pets"
    assert "label 'pets' is not one of" in payload["question"]


async def test_answer_outside_the_options_is_rejected_and_the_pause_stays() -> None:
    agent = Agent(model=counting_model())
    paused = await triage_graph(agent).execute({"text": "Something feels off"})

    with pytest.raises(InvalidResumeValueError):
        await triage_graph(agent).execute(Command(update=paused.final_state, resume="pets"))


async def test_the_model_is_asked_for_a_label_from_the_set_with_a_confidence() -> None:
    model = counting_model()
    await triage_graph(Agent(model=model)).execute({"text": "My parcel never came"})

    spec = model.requests[0].output
    assert spec is not None
    properties = spec.json_schema["properties"]
    assert properties["label"]["enum"] == LABELS
    assert properties["confidence"]["minimum"] == 0
    assert properties["confidence"]["maximum"] == 1
    assert spec.json_schema["required"] == ["label", "confidence", "reason"]
    assert spec.strict is True


async def test_extra_options_let_the_person_answer_outside_the_labels() -> None:
    agent = Agent(model=counting_model())

    async def triage(state: dict[str, Any]) -> dict[str, Any]:
        decided = await classify(
            agent, state["text"], labels=LABELS, options=[*LABELS, "drop"], question="Which?"
        )
        return {"label": decided.label}

    graph = StateGraph("drop")
    graph.add_node("triage", triage)
    graph.add_edge(START, "triage").add_edge("triage", END)
    paused = await graph.execute({"text": "Something feels off"})
    assert paused.interrupt is not None
    assert paused.interrupt.interrupt.payload["question"] == "Which?"

    done = await graph.execute(Command(update=paused.final_state, resume="drop"))

    assert done.final_state["label"] == "drop"


async def test_outside_a_graph_a_confident_answer_works_and_an_unsure_one_says_why() -> None:
    agent = Agent(model=counting_model())

    sure = await classify(agent, "My parcel never came", labels=LABELS)
    assert sure == Classification("refund", 0.93, "The parcel was lost.", "refund", "model")

    with pytest.raises(InterruptOutsideNodeError, match="escalate=False"):
        await classify(agent, "Something feels off", labels=LABELS)

    unsure = await classify(agent, "Something feels off", labels=LABELS, escalate=False)
    assert unsure.needs_review is True
    assert unsure.label == "billing"
    assert unsure.escalated is False


@pytest.mark.parametrize(
    ("labels", "threshold", "message"),
    [
        ([], 0.7, "non-empty"),
        (["a", "a"], 0.7, r"repeat \['a'\]"),
        ("ab", 0.7, "list of strings"),
        (["a"], 1.5, "between 0 and 1"),
    ],
)
async def test_bad_labels_or_threshold_are_user_errors(
    labels: Any, threshold: float, message: str
) -> None:
    model = counting_model()

    with pytest.raises(UserError, match=message):
        await classify(Agent(model=model), "x", labels=labels, min_confidence=threshold)

    assert model.requests == []
