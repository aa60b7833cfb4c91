"""Tool calls streamed in fragments (GENERIC and COHEREV2 formats), assembled whole."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from locus.core.messages import ToolCall

from .._shared import parse_tool_arguments

__all__ = ["PartialCalls"]


@dataclass
class _Partial:
    id: str
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def is_whole(self) -> bool:
        """Whether the arguments so far already form a complete JSON object."""
        try:
            return isinstance(json.loads("".join(self.arguments)), dict)
        except json.JSONDecodeError:
            return False


@dataclass
class PartialCalls:
    """Tool-call fragments in arrival order.

    A fragment with a new ``id`` starts a call; one without an id continues the latest
    call (or starts the first). A fragment with arguments whose ``id`` names a call that
    is already whole starts a new call too: some servers give every call of a turn the
    same id (the agent loop re-keys them). The name comes whole with the first fragment
    that has one; the JSON arguments may come in pieces.
    """

    _calls: list[_Partial] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self._calls)

    def add(self, call_id: str | None, name: str | None, arguments: str | None) -> None:
        """Take in one fragment."""
        known = next(
            (call for call in reversed(self._calls) if call_id and call.id == call_id), None
        )
        if known is not None and arguments and known.is_whole():
            known = None
        if known is None and (call_id or not self._calls):
            known = _Partial(id=call_id or f"call_{len(self._calls)}")
            self._calls.append(known)
        elif known is None:
            known = self._calls[-1]
        if name and not known.name:
            known.name = name
        if arguments:
            known.arguments.append(arguments)

    def complete(self, *, provider: str) -> tuple[ToolCall, ...]:
        """Every call, its arguments decoded.

        Raises:
            ModelProviderError: when a call's assembled arguments are not a JSON object.
        """
        return tuple(
            ToolCall(
                id=call.id,
                name=call.name,
                arguments=parse_tool_arguments(
                    "".join(call.arguments), tool=call.name, provider=provider
                ),
            )
            for call in self._calls
        )
