"""``classify``: a label with a confidence, and a person asked whenever the model is unsure.

The mission's core case in one call::

    result = await classify(triage, ticket_text, labels=["refund", "billing"], min_confidence=0.7)

The agent is asked for typed output (a label from the set, a confidence in [0, 1], a short
reason). A confident answer is returned as it is. Otherwise (confidence below the
threshold, or a label outside the set) the running graph node pauses with a
``classification`` interrupt whose options are the labels; the person's answer is
validated against them and returned. Inside a graph node the model call is journaled, so
the re-run on resume replays it: one model call in total, however often the node re-runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, WithJsonSchema, create_model

from locus.agent.agent import Agent
from locus.core.interrupt import _CURRENT, interrupt
from locus.errors import AgentError, InterruptOutsideNodeError, UserError

__all__ = ["Classification", "classify"]

DecidedBy = Literal["model", "human"]


@dataclass(frozen=True, slots=True)
class Classification:
    """What ``classify`` decided, and how.

    Attributes:
        label: the label to act on: the model's when it was sure, else the person's answer
            (or, with ``escalate=False``, the model's unsure guess).
        confidence: the model's confidence in its own label, from 0 to 1.
        reason: the model's short reason.
        model_label: the label the model chose (possibly outside the set).
        decided_by: ``"model"`` or ``"human"``.
        needs_review: the model was unsure and nobody has decided yet (only with
            ``escalate=False``).
    """

    label: str
    confidence: float
    reason: str
    model_label: str
    decided_by: DecidedBy
    needs_review: bool = False

    @property
    def escalated(self) -> bool:
        """Whether a person made the decision."""
        return self.decided_by == "human"


async def classify(
    agent: Agent,
    text: str,
    *,
    labels: Sequence[str],
    min_confidence: float = 0.7,
    question: str | None = None,
    options: Sequence[str] | None = None,
    escalate: bool = True,
) -> Classification:
    """Classify ``text`` into one of ``labels``; ask a person when the model is unsure.

    Args:
        agent: the classifying agent; its instructions, model and settings are used, with
            a typed output asked for on top.
        text: what to classify.
        labels: the allowed labels (at least one, no duplicates).
        min_confidence: answers below this confidence (0 to 1) are escalated.
        question: what the person is asked; a default names the agent, the guess and
            the confidence.
        options: what the person may answer; defaults to ``labels`` (add e.g. ``"drop"``).
        escalate: with ``False`` an unsure answer is returned with ``needs_review=True``
            instead of pausing (for code that runs outside a graph).

    Returns:
        A ``Classification``.

    Raises:
        AgentError: the run ended (``max_iterations``) without an answer.
        UserError: for empty or duplicate labels or options, or a threshold outside [0, 1].
        InterruptOutsideNodeError: the model was unsure and ``escalate`` is on, but no graph
            node is running to pause.
        OutputValidationError: the model's answer stayed malformed after the agent's
            ``output_retries``.
        InvalidResumeValueError: (on resume) the person's answer is not one of the options.
    """
    allowed = _labels(agent, "labels", labels)
    choices = _labels(agent, "options", options) if options is not None else allowed
    if isinstance(min_confidence, bool) or not 0.0 <= float(min_confidence) <= 1.0:
        raise UserError(
            f"classify() with agent {agent.agent_id!r}: min_confidence must be between 0 and "
            f"1, got {min_confidence!r}"
        )
    typed = agent.replace(output_type=_choice_type(allowed))
    result = await typed.arun(_prompt(text, allowed))
    answer = result.output
    if answer is None:
        raise AgentError(
            f"classify() with agent {agent.agent_id!r}: the run stopped "
            f"({result.stop_reason}) before the model gave a label; raise max_iterations"
        )
    label, confidence, reason = str(answer.label), float(answer.confidence), str(answer.reason)
    if label in allowed and confidence >= min_confidence:
        return Classification(label, confidence, reason, label, "model")
    if not escalate:
        return Classification(label, confidence, reason, label, "model", needs_review=True)
    why = (
        f"label {label!r} is not one of {list(allowed)}"
        if label not in allowed
        else f"confidence {confidence:.2f} is below {min_confidence:.2f}"
    )
    if _CURRENT.get() is None:
        raise InterruptOutsideNodeError(
            f"classify() with agent {agent.agent_id!r} must ask a person ({why}), and pausing "
            "needs a running graph node; call it inside a node, or pass escalate=False to "
            "get the unsure result back with needs_review=True"
        )
    payload: dict[str, Any] = {
        "type": "classification",
        "question": question or f"Agent {agent.agent_id!r} is unsure ({why}). Which label fits?",
        "text": text,
        "options": list(choices),
        "guess": label,
        "confidence": confidence,
        "reason": reason,
        "min_confidence": min_confidence,
        "agent_id": agent.agent_id,
    }
    decided = interrupt(payload, response_schema=_answer_type(choices))
    return Classification(str(decided), confidence, reason, label, "human")


def _labels(agent: Agent, what: str, values: Sequence[str] | None) -> tuple[str, ...]:
    if isinstance(values, str) or values is None:
        raise UserError(
            f"classify() with agent {agent.agent_id!r}: {what} must be a list of strings, "
            f"got {values!r}"
        )
    found = tuple(values)
    if not found or not all(isinstance(v, str) and v for v in found):
        raise UserError(
            f"classify() with agent {agent.agent_id!r}: {what} must be non-empty strings, "
            f"got {list(found)!r}"
        )
    if len(set(found)) != len(found):
        twice = sorted({v for v in found if found.count(v) > 1})
        raise UserError(
            f"classify() with agent {agent.agent_id!r}: {what} repeat {twice}; list each once"
        )
    return found


@lru_cache(maxsize=64)
def _choice_type(labels: tuple[str, ...]) -> type[BaseModel]:
    """The typed answer asked of the model.

    The schema lists the labels as an enum (so constrained decoding keeps to them), but
    validation takes any string: a label outside the set is escalated, not retried.
    """
    label = Annotated[
        str,
        WithJsonSchema(
            {"type": "string", "enum": list(labels), "description": "The label that fits best."}
        ),
    ]
    return create_model(
        "classification",
        label=(label, ...),
        confidence=(
            float,
            Field(ge=0, le=1, description="How likely the label is right, from 0 to 1."),
        ),
        reason=(str, Field(description="One short sentence saying why.")),
    )


@lru_cache(maxsize=64)
def _answer_type(options: tuple[str, ...]) -> Any:
    return Literal[options]  # the person's answer: one of the options


def _prompt(text: str, labels: tuple[str, ...]) -> str:
    return (
        f"Classify the text below with exactly one of these labels: {', '.join(labels)}. "
        "Say how confident you are that the label is right (0 to 1; be honest, an unsure "
        "answer goes to a person) and give a one-sentence reason.\n\n"
        f"Text:\n{text}"
    )
