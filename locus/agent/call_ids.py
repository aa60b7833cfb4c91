"""One id per tool call of a run, whatever ids the model sent.

A model's tool-call ids are untrusted data: some OpenAI-compatible servers give every call
of a turn the same id, reuse ``call_0`` every turn, or send none at all. The agent loop
passes each model turn through ``CallIds.rekey`` before the turn enters the conversation,
any event or any approval, so the assistant message, its events, the approval payloads and
the tool results sent back all name one distinct id per call.

Re-keying rather than refusing keeps runs on such servers working, and the conversation
stays valid for every provider: each tool result answers an id that the assistant message
sent back with it carries exactly once. A call whose id is fresh keeps it unchanged, so
well-behaved providers see their own ids. Re-keying depends only on the conversation, so
a replayed turn (a node re-running on resume) gets the same ids again.

Ids are for the provider's bookkeeping; inside the loop, approvals and results are matched
to calls by their position in the turn, never by id.
"""

from __future__ import annotations

from collections.abc import Iterable

from locus.core.messages import Message, ToolCall

__all__ = ["CallIds"]


class CallIds:
    """The tool-call ids one run's conversation holds; gives each new call a distinct one."""

    __slots__ = ("_taken",)

    def __init__(self, history: Iterable[Message]) -> None:
        """Start from the ids of the calls already in ``history``."""
        self._taken = {call.id for message in history for call in message.tool_calls}

    def rekey(self, message: Message) -> Message:
        """``message`` with every tool call's id distinct from all ids the run holds.

        A call keeps its id when it is non-empty and not taken yet; otherwise it gets
        ``<id>_<n>`` (``call_<n>`` for an empty id), with the smallest ``n`` that is free.
        The returned message's ids are taken from then on.
        """
        taken = self._taken
        calls: list[ToolCall] = []
        changed = False
        for call in message.tool_calls:
            call_id = call.id
            if not call_id or call_id in taken:
                call_id = self._free(call_id)
                call = call.model_copy(update={"id": call_id})
                changed = True
            taken.add(call_id)
            calls.append(call)
        return message.model_copy(update={"tool_calls": tuple(calls)}) if changed else message

    def _free(self, call_id: str) -> str:
        stem, n = (call_id, 2) if call_id else ("call", 1)
        while f"{stem}_{n}" in self._taken:
            n += 1
        return f"{stem}_{n}"
