"""02 — Multi-agent support triage with a human in the loop.

A triage agent classifies each customer request; a specialist agent drafts the answer,
using tools; a person approves every draft before it is sent. Two kinds of escalation:
``classify`` asks a person when triage is not confident of the category (it asks the model
for a label, a confidence and a reason as typed output), and the technical
specialist has a tool, ``ask_human``, that pauses the whole workflow mid-agent until a
person answers its question (the human as a tool).

Agents are immutable configuration, built once and shared by every run; everything about
a run lives in the graph state, so a paused ticket is plain JSON that can be stored and
resumed later, in another process.

Sections:
1. The model and the tools
2. One agent, streamed event by event
3. The workflow graph
4. A refund ticket: approval gate
5. An unclear ticket: triage escalates to a person
6. A technical ticket: the specialist asks a person through a tool
7. Mistakes get clear errors
8. Live progress in the terminal

Runs offline on the mock (``LOCUS_MODEL_PROVIDER=mock``, the default without an OCI
config); with ``openai`` or ``oci`` the same agents run on the real model.
Run: python examples/02_multi_agent_triage.py
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from locus.agent import Agent, AgentConfig, classify
from locus.console import render
from locus.core import Command, interrupt
from locus.core.events import TerminateEvent
from locus.core.messages import Message, ToolCall
from locus.errors import ConfigurationError, ToolDefinitionError
from locus.models import MockInfo, MockModel, Model, from_env
from locus.multiagent import END, START, StateGraph
from locus.tools import tool

# %% 1. The model and the tools -------------------------------------------------------------

ORDERS = {
    42: {"item": "espresso machine", "status": "lost in transit", "paid": 249.0},
    7: {"item": "milk frother", "status": "delivered", "paid": 39.0},
}


@tool
async def lookup_order(order_id: int) -> dict[str, Any]:
    """Look up an order's item, shipping status and amount paid.

    Args:
        order_id: The order number, without '#'.
    """
    return ORDERS.get(order_id, {"error": f"no order #{order_id}"})


@tool
async def ask_human(question: str) -> str:
    """Ask a support engineer a question and wait for the answer.

    Args:
        question: What the engineer should answer, in one sentence.
    """
    # interrupt() pauses the graph node this agent runs in; on resume the node re-runs,
    # the agent asks the same question again and this time gets the engineer's answer.
    return str(interrupt({"type": "question", "question": question}))


TRIAGE_PROMPT = "You are a support triage agent. Classify customer requests by what they need."
SPECIALIST_PROMPTS = {
    "refund": "You are a refund specialist. Look the order up, then draft a two-sentence reply.",
    "billing": "You are a billing specialist. Draft a two-sentence reply about the charge.",
    "technical": (
        "You are a technical specialist. When a detail is missing, ask a support engineer "
        "with ask_human, then draft a two-sentence reply."
    ),
}


def support_desk(messages: tuple[Message, ...], info: MockInfo) -> str | list[ToolCall]:
    """An offline stand-in for an LLM: plausible, deterministic support answers."""
    system = messages[0].content if messages and messages[0].role == "system" else ""
    request = next(m.content for m in reversed(messages) if m.role == "user")
    results = [m.content for m in messages if m.role == "tool"]
    if system.startswith("You are a support triage agent"):
        # classify() asks for JSON: a label, a confidence in [0, 1] and a reason.
        text = request.rsplit("Text:\n", 1)[-1].lower()
        for category, words in {
            "refund": ("refund", "money back", "never arrived"),
            "billing": ("invoice", "charged", "bill"),
            "technical": ("crash", "error", "login"),
        }.items():
            if any(word in text for word in words):
                guess = {"label": category, "confidence": 0.9, "reason": "keywords match"}
                return json.dumps(guess)
        return json.dumps({"label": "billing", "confidence": 0.3, "reason": "no clear sign"})
    order = re.search(r"#(\d+)", request)
    if "lookup_order" in info.tool_names and order and not results:
        return [ToolCall(id="lookup-1", name="lookup_order", arguments={"order_id": int(order[1])})]
    if "ask_human" in info.tool_names and not results:
        question = "Which app version is the customer on?"
        return [ToolCall(id="ask-1", name="ask_human", arguments={"question": question})]
    if results and "lookup_order" in info.tool_names:
        order_info = json.loads(results[-1])
        if "error" in order_info:
            return f"Sorry, we could not find that order ({order_info['error']})."
        return (
            f"Sorry your {order_info['item']} was {order_info['status']}. We are refunding "
            f"${order_info['paid']:.2f}; expect it within five days."
        )
    if results:
        return f"Thanks for your patience. Our engineers say: {results[-1]}. Please update."
    return "Thanks for reaching out. We have corrected the charge and emailed a new invoice."


def pick_model() -> Model:
    model = from_env()
    if isinstance(model, MockModel):  # offline: a scripted-by-function mock plays the LLM
        return MockModel("support-desk", function=support_desk)
    return model


MODEL = pick_model()


def section_1() -> None:
    print("== 1. Model and tools")
    print("model:", MODEL.name)
    print("lookup_order schema:", json.dumps(lookup_order.parameters))
    print()


# %% 2. One agent, streamed event by event ----------------------------------------------------


def make_agent(role: str, prompt: str, tools: list[Any] | None = None) -> Agent:
    return Agent(
        config=AgentConfig(
            agent_id=role,
            model=MODEL,
            system_prompt=prompt,
            tools=tools or [],
            max_iterations=4,
            max_tokens=300,
            temperature=0.0,
        )
    )


TRIAGE = make_agent("triage", TRIAGE_PROMPT)
SPECIALISTS = {
    "refund": make_agent("refund", SPECIALIST_PROMPTS["refund"], [lookup_order]),
    "billing": make_agent("billing", SPECIALIST_PROMPTS["billing"]),
    "technical": make_agent("technical", SPECIALIST_PROMPTS["technical"], [ask_human]),
}


async def section_2() -> None:
    print("== 2. One agent, streamed")
    async for event in SPECIALISTS["refund"].run("My order #42 never arrived, refund please."):
        detail = ""
        if event.type == "model_request":
            detail = f"{len(event.messages)} messages, tools {list(event.tools)}"
        elif event.type == "model_response":
            detail = (
                f"{len(event.message.tool_calls)} tool calls, {event.usage.total_tokens} tokens"
            )
        elif event.type == "tool_call":
            detail = f"{event.tool_call.name}({event.tool_call.arguments})"
        elif event.type == "tool_result":
            detail = event.content
        elif event.type == "text_delta":
            detail = repr(event.text)
        elif isinstance(event, TerminateEvent):
            detail = f"{event.stop_reason}, {event.iterations} model calls, {event.usage}"
        print(f"  {event.type:<15} {detail}")
    print()


# %% 3. The workflow graph --------------------------------------------------------------------

CATEGORIES = ("refund", "billing", "technical")


async def final_text(agent: Agent, prompt: str) -> str:
    result = await agent.arun(prompt)
    return result.text.strip()


async def triage(state: dict[str, Any]) -> dict[str, Any]:
    # Below 70% confidence the graph pauses here until a person picks the category; on
    # resume the model's answer is replayed from the node's journal, not asked again.
    decided = await classify(
        TRIAGE,
        state["request"],
        labels=CATEGORIES,
        min_confidence=0.7,
        question=f"Triage is unsure. Category for: {state['request']!r}?",
        options=[*CATEGORIES, "drop"],
    )
    return {"category": decided.label}


def specialist_node(category: str) -> Any:
    async def draft(state: dict[str, Any]) -> dict[str, Any]:
        reply = await final_text(SPECIALISTS[category], state["request"])
        return {"draft": reply, "drafted_by": category}

    return draft


async def approve(state: dict[str, Any]) -> dict[str, Any]:
    answer = interrupt(
        {"type": "approval", "question": "Send this reply?", "draft": state["draft"]}
    )
    return {"approved": answer == "yes"}


async def send(state: dict[str, Any]) -> dict[str, Any]:
    return {"outcome": "sent" if state["approved"] else "cancelled by reviewer"}


def support_graph() -> StateGraph:
    graph = StateGraph("support-triage")
    graph.add_node("triage", triage)
    for category in CATEGORIES:
        graph.add_node(category, specialist_node(category))
        graph.add_edge(category, "approve")
    graph.add_node("approve", approve).add_node("send", send)
    graph.add_edge(START, "triage")
    graph.add_conditional_edges(
        "triage",
        lambda state: state["category"],
        {**{c: c for c in CATEGORIES}, "drop": END},
    )
    graph.add_edge("approve", "send").add_edge("send", END)
    return graph.compile()


def section_3() -> None:
    print("== 3. The workflow graph")
    graph = support_graph()
    print("nodes:", graph.nodes)
    print("triage routes by category to a specialist (or ends on 'drop'); each draft -> approve")
    print()


async def resume(paused: Any, answer: str) -> Any:
    """Store the paused ticket as JSON, then resume it on a freshly built graph."""
    stored = json.dumps(paused.final_state)
    return await support_graph().execute(Command(update=json.loads(stored), resume=answer))


# %% 4. A refund ticket: approval gate -------------------------------------------------------


async def section_4() -> None:
    print("== 4. Refund ticket")
    paused = await support_graph().execute({"request": "Order #42 never arrived. Refund me."})
    assert paused.interrupt is not None
    payload = paused.interrupt.interrupt.payload
    print("category:", paused.final_state["category"])
    print("paused at:", paused.interrupt.node_id, "-", payload["question"])
    print("draft:", payload["draft"])
    done = await resume(paused, "yes")
    print("human: yes ->", done.final_state["outcome"])
    print()


# %% 5. An unclear ticket: triage escalates to a person ---------------------------------------


async def section_5() -> None:
    print("== 5. Unclear ticket")
    paused = await support_graph().execute({"request": "Something feels off with my account."})
    assert paused.interrupt is not None
    payload = paused.interrupt.interrupt.payload
    print("paused at:", paused.interrupt.node_id, "-", payload["question"])
    print(f"model guessed {payload['guess']} ({payload['confidence']:.0%}): {payload['reason']}")
    at_approval = await resume(paused, "billing")
    assert at_approval.interrupt is not None
    print("human: billing -> draft:", at_approval.interrupt.interrupt.payload["draft"])
    done = await resume(at_approval, "no")
    print("human: no ->", done.final_state["outcome"])
    dropped = await resume(paused, "drop")
    print("or, human: drop -> finished without a reply:", dropped.path)
    print()


# %% 6. A technical ticket: the specialist asks a person through a tool -----------------------


async def section_6() -> None:
    print("== 6. Technical ticket, human as a tool")
    paused = await support_graph().execute({"request": "The app shows an error at login."})
    assert paused.interrupt is not None
    print(
        "paused in:", paused.interrupt.node_id, "-", paused.interrupt.interrupt.payload["question"]
    )
    at_approval = await resume(paused, "version 3.2, fixed in 3.3")
    assert at_approval.interrupt is not None
    print("engineer answered -> draft:", at_approval.interrupt.interrupt.payload["draft"])
    done = await resume(at_approval, "yes")
    print("human: yes ->", done.final_state["outcome"])
    print()


# %% 7. Mistakes get clear errors -------------------------------------------------------------


async def section_7() -> None:
    print("== 7. Clear errors")
    try:
        AgentConfig(agent_id="triage", model=MODEL, max_iterations=0)
    except ConfigurationError as exc:
        print("ConfigurationError:", exc)
    try:

        @tool
        def untyped(order_id):  # type: ignore[no-untyped-def]
            return order_id

    except ToolDefinitionError as exc:
        print("ToolDefinitionError:", exc)


# %% 8. Live progress in the terminal ---------------------------------------------------------


async def section_8() -> None:
    print("== 8. Live progress: the technical ticket again, rendered as it runs")
    graph = support_graph()
    # render() prints a graph.stream() as it happens and returns its last event, whose
    # final_state is the resumable snapshot when the run paused.
    run = await render(graph.stream({"request": "The app shows an error at login."}))
    answer = "version 3.2, fixed in 3.3"
    run = await render(graph.stream(Command(update=run.final_state, resume=answer)))
    await render(graph.stream(Command(update=run.final_state, resume="yes")))


async def main() -> None:
    section_1()
    await section_2()
    section_3()
    await section_4()
    await section_5()
    await section_6()
    await section_7()
    await section_8()


if __name__ == "__main__":
    asyncio.run(main())
