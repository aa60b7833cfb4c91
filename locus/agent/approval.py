"""Human approval of tool calls: the interrupt payload, and the answers a human may give.

A tool made with ``@tool(requires_approval=...)`` does not run when an agent inside a graph
node asks for it: the graph pauses with one interrupt per such call, payload
``{"type": "tool_approval", "tool", "arguments", "call_id", "agent_id"}``. All approvals
asked in one model turn pause together, each with its own interrupt id; an answer given
for one interrupt governs only that call, even when the model gave several calls one id
(``call_id`` is the call's id in the conversation, distinct within the run). Each is
answered with one of:

* ``True`` / ``"approve"`` / ``{"approved": true}``: run the tool as asked;
* ``{"approved": true, "arguments": {...}}``: run it with edited arguments;
* ``False`` / ``"reject"`` / ``{"approved": false, "message": "..."}``: do not run it; the
  model sees the message (or a default one) as the tool's result.

Outside a graph node the run stops instead, with the same calls in
``AgentResult.pending_approvals`` and a resumable ``AgentResult.state``; the same answers
go to ``agent.resume(state, approvals={call_id: answer})`` (see ``locus.agent.pause``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from locus.core.messages import ToolCall

__all__ = ["DEFAULT_REJECTION", "ToolApproval", "ToolApprovalAnswer", "approval_payload"]

DEFAULT_REJECTION = "A human reviewer rejected this tool call; it was not run."


class ToolApproval(BaseModel):
    """A human's decision on one tool call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    approved: bool
    message: str | None = None
    arguments: dict[str, Any] | None = None

    @classmethod
    def of(cls, answer: ToolApprovalAnswer) -> ToolApproval:
        """Normalise any accepted answer form into a ``ToolApproval``."""
        if isinstance(answer, ToolApproval):
            return answer
        if isinstance(answer, bool):
            return cls(approved=answer)
        return cls(approved=answer in ("approve", "approved", "yes"))


#: Every form an approval answer may take; also the interrupt's ``response_schema``.
ToolApprovalAnswer = (
    ToolApproval | bool | Literal["approve", "approved", "yes", "reject", "rejected", "no"]
)


def approval_payload(agent_id: str, call: ToolCall) -> dict[str, Any]:
    """The interrupt payload asking a human to approve ``call``."""
    return {
        "type": "tool_approval",
        "tool": call.name,
        "arguments": dict(call.arguments),
        "call_id": call.id,
        "agent_id": agent_id,
    }
