"""Approvals outside a graph: a run that stops for a person, as data, and its resume.

Inside a graph node a tool that needs approval pauses the graph (``interrupt``). Outside
one (a chat backend calling ``agent.arun``) the run stops instead: its result lists the
``pending_approvals`` and carries the run's ``state``. The state is plain, versioned JSON
(``state.to_json()``); any process can load it (``AgentRunState.from_json``) and continue
with ``agent.resume(state, approvals={call_id: answer})``. The model is not asked again
for the turn that requested the tools; each tool of that turn runs once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    ValidationError,
    model_serializer,
)

from locus.agent.approval import ToolApproval, ToolApprovalAnswer
from locus.core.messages import Message, ToolCall, Usage
from locus.errors import (
    InvalidAgentStateError,
    InvalidResumeValueError,
    MissingResumeError,
    SchemaVersionError,
    UnknownInterruptError,
)

__all__ = ["STATE_SCHEMA_VERSION", "AgentRunState", "PendingApproval", "decide"]

#: The version ``AgentRunState.to_json`` writes; ``from_json`` reads this one only.
STATE_SCHEMA_VERSION = 1
_KIND = "locus.agent_run_state"


@lru_cache(maxsize=1)
def approval_schema() -> dict[str, Any]:
    """The JSON Schema every approval answer must match."""
    schema: dict[str, Any] = TypeAdapter(ToolApprovalAnswer).json_schema()
    return schema


@lru_cache(maxsize=1)
def _answers() -> TypeAdapter[Any]:
    return TypeAdapter(ToolApprovalAnswer)


class PendingApproval(BaseModel):
    """One tool call waiting for a person's decision.

    Attributes:
        call_id: what to key the answer by in ``agent.resume(..., approvals=...)``.
        tool: the tool's name.
        arguments: the arguments the model gave.
        agent_id: the agent that asked.
        response_schema: the JSON Schema an answer must match (``True``/``"approve"``,
            ``False``/``"reject"``, or ``{"approved": ..., "message": ..., "arguments": ...}``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    call_id: str
    tool: str
    arguments: dict[str, Any]
    agent_id: str
    response_schema: dict[str, Any] = Field(default_factory=approval_schema)

    @classmethod
    def of(cls, agent_id: str, call: ToolCall) -> PendingApproval:
        """The pending approval of ``call``."""
        return cls(
            call_id=call.id, tool=call.name, arguments=dict(call.arguments), agent_id=agent_id
        )


class AgentRunState(BaseModel):
    """A standalone run stopped for approvals: everything needed to continue it.

    Attributes:
        agent_id: the agent that ran.
        messages: the conversation so far; the last one is the model's turn asking for
            the tools.
        usage: tokens used so far.
        iterations: model calls so far.
        output_retries_used: typed-output retries used so far.
        pending: the calls waiting for a decision.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent_id: str
    messages: tuple[Message, ...]
    usage: Usage
    iterations: int = Field(ge=0)
    output_retries_used: int = Field(0, ge=0)
    pending: tuple[PendingApproval, ...]

    @property
    def turn(self) -> tuple[ToolCall, ...]:
        """The tool calls of the turn that stopped (the last message's)."""
        return self.messages[-1].tool_calls if self.messages else ()

    @model_serializer(mode="wrap")
    def _versioned(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Every serialized form (to_json, model_dump, a TerminateEvent logged as JSON)
        # carries the version and kind, so any of them can be loaded with from_json.
        body: dict[str, Any] = handler(self)
        return {"$schemaVersion": STATE_SCHEMA_VERSION, "type": _KIND, **body}

    def to_json(self) -> str:
        """The state as versioned JSON (``"$schemaVersion": 1``, ``"type"`` naming it)."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any]) -> AgentRunState:
        """Load a state written by ``to_json`` (as text, bytes or the parsed dict).

        Raises:
            SchemaVersionError: the document has another ``$schemaVersion``.
            InvalidAgentStateError: it is not an agent run state, or is malformed (the
                field at fault is named).
        """
        try:
            document = json.loads(data) if isinstance(data, str | bytes) else dict(data)
        except (ValueError, TypeError) as exc:
            raise InvalidAgentStateError(f"an agent run state must be JSON: {exc}") from None
        if not isinstance(document, dict) or document.get("type") != _KIND:
            raise InvalidAgentStateError(
                f'not an agent run state (no "type": {_KIND!r}); pass what '
                "AgentResult.state.to_json() wrote"
            )
        version = document.get("$schemaVersion")
        if version != STATE_SCHEMA_VERSION:
            raise SchemaVersionError(
                f"agent run state has $schemaVersion {version!r}; this release reads version "
                f"{STATE_SCHEMA_VERSION} only"
            )
        body = {k: v for k, v in document.items() if k not in ("$schemaVersion", "type")}
        try:
            state = cls.model_validate(body)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"]) or "(state)"
            raise InvalidAgentStateError(
                f"agent run state is malformed at {where}: {err['msg']}"
            ) from None
        known = {call.id for call in state.turn}
        stray = [p.call_id for p in state.pending if p.call_id not in known]
        if stray:
            raise InvalidAgentStateError(
                f"agent run state lists pending calls {stray} that its last message did not ask for"
            )
        return state


def decide(
    agent_id: str, state: AgentRunState, approvals: Mapping[str, Any]
) -> dict[str, ToolApproval]:
    """Check ``approvals`` against the pending calls and normalise each answer.

    Raises:
        InvalidAgentStateError: the state belongs to another agent.
        UnknownInterruptError: an answer names a call that is not pending.
        MissingResumeError: a pending call has no answer.
        InvalidResumeValueError: an answer is not an approval answer.
    """
    if state.agent_id != agent_id:
        raise InvalidAgentStateError(
            f"this run state belongs to agent {state.agent_id!r}, not {agent_id!r}; resume it "
            "with the agent that paused"
        )
    pending = {p.call_id: p for p in state.pending}
    unknown = sorted(set(approvals) - set(pending))
    if unknown:
        raise UnknownInterruptError(
            f"agent {agent_id!r}: approvals name {unknown}, which are not pending; pending "
            f"calls: {sorted(pending)}"
        )
    missing = [call_id for call_id in pending if call_id not in approvals]
    if missing:
        names = ", ".join(f"{c} ({pending[c].tool})" for c in missing)
        raise MissingResumeError(
            f"agent {agent_id!r}: no answer for pending call(s) {names}; answer every one in "
            "approvals={call_id: True | False | {...}}"
        )
    decided: dict[str, ToolApproval] = {}
    for call_id, answer in approvals.items():
        try:
            value = _answers().validate_python(answer)
        except ValidationError:
            raise InvalidResumeValueError(
                f"agent {agent_id!r}: the answer {answer!r:.60} for call {call_id!r} "
                f"({pending[call_id].tool}) is not an approval; give True/'approve', "
                "False/'reject', or {'approved': bool, 'message': str, 'arguments': {...}}"
            ) from None
        decided[call_id] = ToolApproval.of(value)
    return decided
