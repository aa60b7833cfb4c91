"""09 — Confident triage: only the tickets the model is unsure of go to a person.

``classify(agent, text, labels=[...], min_confidence=0.7)`` asks the model for typed output:
one label from the set, a confidence between 0 and 1, and a one-sentence reason. A
confident answer is used as it is. An unsure one (or a label outside the set) pauses the
graph node with a ``classification`` interrupt: its options are the labels, its payload
carries the model's guess and reason, and the answer is checked against the labels. On
resume the model's answer is replayed from the node's journal: each ticket costs exactly
one model call, paused or not.

Sections:
1. Typed output on its own
2. A batch of tickets: the confident ones are routed, the unsure ones wait
3. A person answers the waiting ones (a wrong answer is refused)
4. Outside a graph: escalate=False hands the unsure result back

Runs offline on the mock; with ``LOCUS_MODEL_PROVIDER=openai`` or ``oci`` the same code
asks the real model for structured output.
Run: python examples/09_confident_triage.py
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from locus.agent import Agent, classify
from locus.core import Command
from locus.errors import InvalidResumeValueError
from locus.models import MockModel, Model, from_env
from locus.multiagent import END, START, StateGraph

LABELS = ["refund", "billing", "technical"]
TICKETS = {
    "T-1": "My parcel never arrived, I want my money back.",
    "T-2": "The app crashes when I open settings.",
    "T-3": "Something about my account looks odd since Tuesday.",
    "T-4": "I was charged twice and the app logs me out.",
}

# An offline stand-in for an LLM: how sure it is about each ticket, and why.
GUESSES: dict[str, tuple[str, float, str]] = {
    "never arrived": ("refund", 0.95, "The customer asks for their money back."),
    "crashes": ("technical", 0.91, "An app crash is a technical fault."),
    "looks odd": ("billing", 0.34, "Vague; an account oddity is often a charge."),
    "charged twice": ("billing", 0.55, "A double charge, but also a login problem."),
}


def desk(messages: Any, info: Any) -> str:
    text = messages[-1].content
    label, confidence, reason = next(g for key, g in GUESSES.items() if key in text)
    return json.dumps({"label": label, "confidence": confidence, "reason": reason})


def pick_model() -> Model:
    model = from_env()
    return MockModel("desk", function=desk) if isinstance(model, MockModel) else model


MODEL = pick_model()
TRIAGE = Agent(
    agent_id="triage",
    model=MODEL,
    system_prompt="You triage customer support tickets.",
    temperature=0.0,
)

# %% 1. Typed output on its own ------------------------------------------------------------


class Sentiment(BaseModel):
    mood: Literal["calm", "annoyed", "angry"]
    urgency: int = Field(ge=1, le=5)


async def section_1() -> None:
    print("== 1. Typed output")
    mood_agent = Agent(agent_id="mood", model="mock", output_type=Sentiment)
    result = await mood_agent.arun("I was charged twice!!")
    print("output:", repr(result.output))
    print("the mock answered valid JSON built from the schema:", result.text)
    print()


# %% 2. A batch of tickets -----------------------------------------------------------------


async def triage_node(state: dict[str, Any]) -> dict[str, Any]:
    decided = await classify(TRIAGE, state["text"], labels=LABELS, min_confidence=0.7)
    return {
        "label": decided.label,
        "decided_by": decided.decided_by,
        "confidence": decided.confidence,
    }


def triage_graph() -> StateGraph:
    graph = StateGraph("confident-triage")
    graph.add_node("triage", triage_node)
    graph.add_edge(START, "triage").add_edge("triage", END)
    return graph


def model_calls() -> str:
    return str(len(MODEL.requests)) if isinstance(MODEL, MockModel) else "(not counted)"


async def section_2() -> dict[str, Any]:
    print("== 2. A batch of tickets")
    waiting: dict[str, Any] = {}
    for ticket, text in TICKETS.items():
        result = await triage_graph().execute({"ticket": ticket, "text": text})
        if result.interrupt is None:
            state = result.final_state
            print(f"{ticket}: {state['label']:<9} by the model ({state['confidence']:.0%})")
            continue
        payload = result.interrupt.interrupt.payload
        print(
            f"{ticket}: waits for a person; model guessed {payload['guess']} "
            f"({payload['confidence']:.0%}): {payload['reason']}"
        )
        waiting[ticket] = json.loads(json.dumps(result.final_state))  # stored as JSON
    print("model calls so far:", model_calls())
    print()
    return waiting


# %% 3. A person answers --------------------------------------------------------------------


async def section_3(waiting: dict[str, Any]) -> None:
    print("== 3. A person answers the waiting tickets")
    answers = {"T-3": "billing", "T-4": "technical"}
    try:
        await triage_graph().execute(Command(update=waiting["T-3"], resume="pets"))
    except InvalidResumeValueError as exc:
        print("refused:", str(exc).split(" (", 1)[0])
    for ticket, answer in answers.items():
        done = await triage_graph().execute(Command(update=waiting[ticket], resume=answer))
        state = done.final_state
        print(f"{ticket}: {state['label']:<9} by a {state['decided_by']}")
    print("model calls in total:", model_calls(), "(one per ticket; resumes replay the journal)")
    print()


# %% 4. Outside a graph ---------------------------------------------------------------------


async def section_4() -> None:
    print("== 4. Outside a graph")
    unsure = await classify(TRIAGE, TICKETS["T-3"], labels=LABELS, escalate=False)
    print(f"needs_review={unsure.needs_review}, guess={unsure.label} ({unsure.confidence:.0%})")


async def main() -> None:
    await section_1()
    waiting = await section_2()
    await section_3(waiting)
    await section_4()


if __name__ == "__main__":
    asyncio.run(main())
